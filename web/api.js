// Thin HTTP layer over fetch: JSON in and out, problem details (RFC 9457) turned into
// ApiError. Knows nothing about sessions; session.js adds the bearer token.
import { apiBaseUrl } from "./config.js";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, or 0 when the server could not be reached.
   * @param {{title?: string, detail?: string, errors?: Record<string, string[]>}} problem
   * @param {number | null} retryAfterSeconds from Retry-After, when the server sent one we can read.
   */
  constructor(status, problem, retryAfterSeconds = null) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Validation messages keyed by camelCase field name. */
  get fieldErrors() {
    const errors = this.problem.errors;
    if (!errors || typeof errors !== "object") return {};
    const byField = {};
    for (const [key, messages] of Object.entries(errors)) {
      // Tolerate "Title" or "$.title" style keys, the contract says "title".
      const field = key.replace(/^\$\.?/, "").replace(/^./, (c) => c.toLowerCase());
      const list = Array.isArray(messages) ? messages : [messages];
      byField[field] = (byField[field] ?? []).concat(list.map(String));
    }
    return byField;
  }
}

/**
 * @param {string} method
 * @param {string} path e.g. "/items?limit=20", relative to the API base URL
 * @param {{body?: unknown, token?: string, headers?: Record<string, string>}} options
 * @returns {Promise<{status: number, data: any, etag: string | null}>}
 */
export async function request(method, path, { body, token, headers = {} } = {}) {
  const init = {
    method,
    headers: { Accept: "application/json, application/problem+json", ...headers },
    // Bearer tokens only: never send or accept cookies, and never reuse a cached answer.
    credentials: "omit",
    cache: "no-store",
  };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(apiBaseUrl + path, init);
  } catch {
    throw new ApiError(0, {
      title: "Can't reach the server",
      detail: "Can't reach the server. Check your connection and try again.",
    });
  }

  const data = await readJson(response);
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {};
    throw new ApiError(response.status, problem, retryAfter(response));
  }
  // ETag is not a CORS-safelisted header: cross-origin it is readable only when the
  // API sends Access-Control-Expose-Headers: ETag. Callers cope with null.
  return { status: response.status, data, etag: response.headers.get("ETag") };
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function retryAfter(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

/** What to tell a person about a failed call: the problem's detail, or words for offline, 413, 429 and 503. */
export function messageFor(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  const { status, problem, retryAfterSeconds } = error;
  const wait = retryAfterSeconds === null ? "" : ` Try again ${inTime(retryAfterSeconds)}.`;
  switch (status) {
    case 0:
      return error.message;
    case 413:
      return "That is too large to save.";
    case 429:
      return `${problem.detail || "Too many attempts."}${wait || " Try again later."}`;
    case 503:
      return `The service is unavailable right now.${wait || " Try again in a moment."}`;
    default:
      return problem.detail || problem.title || `Something went wrong (error ${status}).`;
  }
}

function inTime(seconds) {
  if (seconds < 90) return `in ${Math.max(1, seconds)} seconds`;
  return `in about ${Math.round(seconds / 60)} minutes`;
}
