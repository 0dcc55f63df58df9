// The signed-in session: who is signed in, the access token, and keeping it fresh.
//
// The access token lives only in this module's memory: gone on reload, never in storage.
// The refresh token lives in sessionStorage. Trade-off: it survives a reload in the same
// tab (so a reload does not log you out) and disappears when the tab closes (unlike
// localStorage, it is not shared with other tabs or kept on disk for later). But any script
// running on the page can read it, so an XSS bug would leak a 14-day credential; that is
// why the page ships a strict Content-Security-Policy (scripts from 'self' only, no inline
// script) and renders every API string with textContent, never as HTML. An HttpOnly cookie
// would hide it from script, but the API is cookie-free by design (docs/api.md, "Cross-origin").
import { ApiError, request } from "./api.js";

const refreshTokenKey = "items.refreshToken";

let user = null;
let accessToken = null;
let refreshDueAt = 0;
let refreshTimer = 0;
let inFlightRefresh = null;
// Bumped whenever a session starts or ends, so an answer that arrives afterwards
// cannot bring an ended session back.
let generation = 0;
const listeners = new Set();

/** Thrown by authorizedRequest when the session ended (refresh refused) during the call. */
export class SessionEndedError extends Error {
  constructor() {
    super("Your session has ended. Please log in again.");
    this.name = "SessionEndedError";
  }
}

/** listener(user | null, reason): reason is "signed-in", "refreshed", "expired", "logged-out" or "deleted". */
export function onSessionChange(listener) {
  listeners.add(listener);
}

export function currentUser() {
  return user;
}

export function hasStoredSession() {
  return readRefreshToken() !== null;
}

/**
 * Posts to a route whose answer is a new session (signup, login, passkey sign-in or signup, the second sign-in step) and
 * starts it. With two-step sign-in on, a password's answer is { mfaRequired, mfaToken } instead, and no session starts:
 * the caller asks for a code (mfa-panel.js).
 */
async function signInThrough(path, body) {
  const { data } = await request("POST", path, { body });
  if (data?.mfaRequired) return { mfaRequired: true, mfaToken: data.mfaToken };
  startSession(data, "signed-in");
  return { mfaRequired: false };
}

/** The second step of a sign-in: the first step's mfaToken and a code (or a recovery code). */
export const finishMfaSignIn = ({ mfaToken, code, recoveryCode }) => signInThrough("/auth/login/mfa", { mfaToken, code, recoveryCode });

export const signUp = ({ email, password, displayName }) => signInThrough("/auth/signup", { email, password, displayName });

export const logIn = ({ email, password }) => signInThrough("/auth/login", { email, password });

/** Signs in with a passkey assertion (the browser's credential.toJSON()); a refused one is the API's 401. */
export const logInWithPasskey = (credential) => signInThrough("/auth/passkey", { credential });

/** Makes the account of the passkey signup options with the new passkey's attestation (credential.toJSON()). */
export const signUpWithPasskey = (credential) => signInThrough("/auth/signup/passkey", { credential });

/**
 * Sets a new password with the token from a reset mail. The API answers with a new session (every other session of the
 * account has ended), which replaces whatever session this tab had. Rejects with the API's error: a 400 with
 * errors.token for an unknown, spent or expired link, errors.newPassword for a weak password.
 */
export async function confirmPasswordReset({ token, newPassword }) {
  if (inFlightRefresh) await inFlightRefresh.catch(() => {});
  const { data } = await request("POST", "/auth/password-reset/confirm", { body: { token, newPassword } });
  if (data?.mfaRequired) return { mfaRequired: true, mfaToken: data.mfaToken };
  startSession(data, "signed-in");
  return { mfaRequired: false };
}

/** On page load: trade a stored refresh token for a session. Rejects when that fails. */
export async function restoreSession() {
  await refreshSession();
}

/**
 * Ends the session here at once, then asks the API to revoke the refresh token family.
 * Resolves to false when the API could not be told (the local session is gone anyway).
 */
export async function logOut() {
  // A refresh in flight would rotate the token we are about to revoke: let it land first.
  if (inFlightRefresh) await inFlightRefresh.catch(() => {});
  const refreshToken = readRefreshToken();
  endSession("logged-out");
  if (!refreshToken) return true;
  try {
    await request("POST", "/auth/logout", { body: { refreshToken } });
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes the signed-in account, proven again with `{ password }` or, for an account without one,
 * `{ passkeyAssertion }` (a passkey sign-in ceremony's credential.toJSON()), then ends the session here:
 * listeners hear "deleted". Rejects with the API's error (a wrong password or assertion is a 400) otherwise.
 */
export async function deleteAccount(proof) {
  await authorizedRequest("DELETE", "/me", { body: proof });
  endSession("deleted");
}

/**
 * Calls a protected route with the bearer token: refreshes first when the token is
 * (nearly) expired, and on a 401 refreshes once and retries once.
 */
export async function authorizedRequest(method, path, options = {}) {
  if (!accessToken || Date.now() >= refreshDueAt) await refreshOrEnd();
  const token = accessToken;
  try {
    return await request(method, path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  // Only refresh if no other call has done so while ours was in flight.
  if (accessToken === token) await refreshOrEnd();
  if (!accessToken) throw new SessionEndedError();
  try {
    return await request(method, path, { ...options, token: accessToken });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      endSession("expired");
      throw new SessionEndedError();
    }
    throw error;
  }
}

async function refreshOrEnd() {
  try {
    await refreshSession();
  } catch (error) {
    if (!user) throw new SessionEndedError();
    throw error;
  }
}

// One refresh at a time: presenting the same refresh token twice would look like token
// theft to the API, which then revokes the whole family and logs the user out.
function refreshSession() {
  if (!inFlightRefresh) {
    inFlightRefresh = runRefresh().finally(() => {
      inFlightRefresh = null;
    });
  }
  return inFlightRefresh;
}

async function runRefresh() {
  const startedIn = generation;
  const refreshToken = readRefreshToken();
  if (!refreshToken) {
    if (user) endSession("expired");
    throw new SessionEndedError();
  }
  let data;
  try {
    ({ data } = await request("POST", "/auth/refresh", { body: { refreshToken } }));
  } catch (error) {
    // 400/401: the token is unknown, expired, rotated or revoked. Anything else
    // (offline, 503) is worth retrying later, so the token is kept.
    if (error instanceof ApiError && (error.status === 400 || error.status === 401)) {
      if (startedIn === generation) endSession("expired");
      throw new SessionEndedError();
    }
    throw error;
  }
  if (startedIn !== generation) throw new SessionEndedError();
  startSession(data, user ? "refreshed" : "signed-in");
}

function startSession(session, reason) {
  if (reason === "signed-in") generation += 1;
  user = session.user;
  accessToken = session.accessToken;
  // Rotation: every session answer carries a new refresh token; the old one is now dead.
  writeRefreshToken(session.refreshToken);
  scheduleRefresh(Number(session.expiresIn) || 60);
  notify(reason);
}

function endSession(reason) {
  generation += 1;
  clearTimeout(refreshTimer);
  user = null;
  accessToken = null;
  refreshDueAt = 0;
  writeRefreshToken(null);
  notify(reason);
}

// Refresh a minute before expiry (or half-way through very short lifetimes). The check in
// authorizedRequest covers timers that a sleeping laptop or a background tab delayed.
function scheduleRefresh(expiresInSeconds) {
  const seconds = Math.max(expiresInSeconds / 2, expiresInSeconds - 60);
  refreshDueAt = Date.now() + seconds * 1000;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshSession().catch(() => {
      // Offline or API busy: the next protected call tries again; a refused token
      // has already ended the session and told the listeners.
    });
  }, seconds * 1000);
}

function notify(reason) {
  for (const listener of listeners) listener(user, reason);
}

function readRefreshToken() {
  try {
    return sessionStorage.getItem(refreshTokenKey);
  } catch {
    return null;
  }
}

function writeRefreshToken(value) {
  try {
    if (value) sessionStorage.setItem(refreshTokenKey, value);
    else sessionStorage.removeItem(refreshTokenKey);
  } catch {
    // Storage disabled: the session still works until the tab reloads.
  }
}

/** The GET /api/me in flight and the session generation it was asked in. */
let inFlightProfile = null;

/**
 * GET /api/me: the signed-in user as stored now (a session's own copy can be older), with `emailVerified` and
 * `hasPassword`. Calls made while one is in flight for the same session share its answer, so the page reads it once
 * after signing in; a call after the session changed never gets the previous session's answer.
 */
export function fetchProfile() {
  if (inFlightProfile?.generation !== generation) {
    const read = { generation, promise: null };
    read.promise = authorizedRequest("GET", "/me")
      .then(({ data }) => data ?? {})
      .finally(() => {
        if (inFlightProfile === read) inFlightProfile = null;
      });
    inFlightProfile = read;
  }
  return inFlightProfile.promise;
}

// Account actions for the account panel (account.js): the signed-in sessions, signing out
// elsewhere or everywhere, and the password change, whose answer is a new session.

/** The account's active sessions, newest first. */
export async function listSessions() {
  const { data } = await authorizedRequest("GET", "/me/sessions");
  return Array.isArray(data?.sessions) ? data.sessions : [];
}

/** Ends one session (another device's); 404 when it is already gone. */
export async function signOutSession(id) {
  await authorizedRequest("DELETE", `/me/sessions/${encodeURIComponent(id)}`);
}

/** Ends every session of the account, this one included. */
export async function signOutEverywhere() {
  if (inFlightRefresh) await inFlightRefresh.catch(() => {});
  await authorizedRequest("DELETE", "/me/sessions");
  endSession("logged-out");
}

/** Changes the password; every other session ends and this tab continues with the new one. */
export async function changePassword({ currentPassword, newPassword }) {
  if (inFlightRefresh) await inFlightRefresh.catch(() => {});
  const { data } = await authorizedRequest("PUT", "/me/password", { body: { currentPassword, newPassword } });
  // A refresh that started with the old token must not end the new session when its 401 arrives.
  generation += 1;
  startSession(data, "refreshed");
}
