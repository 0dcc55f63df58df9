// Where the API lives. This is the one file a deployment edits (or overwrites) to
// point the page at its Function App, e.g. "https://func-xyz.azurewebsites.net/api".
//
// Test-time overrides, without editing this file, in order of precedence:
//   1. `?api=<base url>` in the page's query string, e.g.
//        http://127.0.0.1:5173/?api=http://127.0.0.1:7072/api
//      Honoured only when the page itself is served from a loopback host: on a real
//      origin a crafted link must not be able to send people's passwords elsewhere.
//   2. `globalThis.__API_BASE_URL__`, set before this module is evaluated
//      (e.g. Playwright's `page.addInitScript`), on any host.
//   3. The default below: the Functions host started locally with `func start`.
const defaultApiBaseUrl = "http://localhost:7071/api";

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

function fromQueryString() {
  if (!loopbackHosts.has(window.location.hostname)) return null;
  const value = new URLSearchParams(window.location.search).get("api");
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const configured = fromQueryString() ?? globalThis.__API_BASE_URL__ ?? defaultApiBaseUrl;

export const apiBaseUrl = String(configured).replace(/\/+$/, "");
export const pageSize = 20;
