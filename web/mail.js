// The mail links and mail-related calls: the token of a `#verify=…` or `#reset=…` link, email verification, asking
// for a password-reset mail or another verification mail. No DOM here; auth-forms.js, verification.js and
// passkey-panel.js show the forms and messages, and app.js hands a link's token to them.
import { request } from "./api.js";
import { authorizedRequest, fetchProfile } from "./session.js";

const linkPattern = /^#(verify|reset)=([A-Za-z0-9_.-]{1,512})$/;

/**
 * The token of the mail link the page was opened with, or null. The fragment is removed from the address bar at once
 * (history.replaceState), so the token does not stay in the history or show up in a bookmark or a shared screenshot.
 * (Fragments are never sent in a Referer, and the page's Referrer-Policy is no-referrer besides.)
 * @returns {{kind: "verify" | "reset", token: string} | null}
 */
export function takeLinkToken() {
  const hash = window.location.hash;
  const kind = /^#(verify|reset)=/.exec(hash)?.[1];
  if (!kind) return null;
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  // A mangled token (a mail client cut the link) is still sent: the API's 400 then says what is wrong.
  return { kind, token: linkPattern.exec(hash)?.[2] ?? hash.slice(kind.length + 2, kind.length + 2 + 512) };
}

/** Marks the email of the link's account verified. Rejects with a 400 (errors.token) for an unknown, spent or expired link. */
export async function verifyEmail(token) {
  await request("POST", "/auth/verify-email", { body: { token } });
}

/** Asks for a reset mail. The answer is 202 whether or not the email has an account. */
export async function requestPasswordReset(email) {
  await request("POST", "/auth/password-reset", { body: { email } });
}

/** Asks for another verification mail for the signed-in account: 202, or 429 with Retry-After within a minute of the last. */
export async function sendVerificationEmail() {
  await authorizedRequest("POST", "/me/verification-email");
}

/** Whether the signed-in account's email is verified now (GET /api/me; the session's own copy can be older). */
export async function emailVerifiedNow() {
  return (await fetchProfile()).emailVerified === true;
}
