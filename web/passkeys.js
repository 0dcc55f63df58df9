// Passkeys (WebAuthn) with the browser's own navigator.credentials: each ceremony asks the API for options, lets the
// browser and the authenticator do the cryptography, and sends back the credential's JSON form. No DOM here;
// auth-forms.js, account.js (account deletion) and passkey-panel.js show the buttons and messages.
import { request } from "./api.js";
import { authorizedRequest, fetchProfile, logInWithPasskey, signUpWithPasskey } from "./session.js";

/**
 * Whether this browser can do the page's passkey ceremonies. The JSON helpers (parse…OptionsFromJSON, toJSON) are
 * part of WebAuthn Level 3, in every current browser; without them the passkey buttons stay hidden.
 */
export const passkeysSupported =
  typeof window.PublicKeyCredential === "function" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
  typeof navigator.credentials?.create === "function";

/** The browser's refusal of a ceremony, in words a person can act on, or null when `error` is not one. */
export function ceremonyMessage(error) {
  if (!(error instanceof DOMException)) return null;
  switch (error.name) {
    case "NotAllowedError":
    case "AbortError":
      return "No passkey was used: the request was cancelled or timed out. Try again when you are ready.";
    case "InvalidStateError":
      return "This device already has a passkey for your account.";
    case "SecurityError":
      return "Passkeys do not work on this address. Open the page by its host name (for example http://localhost:5173).";
    case "NotSupportedError":
      return "This device cannot make a passkey the site accepts (it needs a passkey unlocked by your fingerprint, face, PIN or screen lock).";
    default:
      return `The passkey ceremony failed (${error.name}).`;
  }
}

async function createCredential(options) {
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  return credential.toJSON();
}

/** A discoverable sign-in ceremony (no email: the browser offers this site's passkeys); resolves to its assertion. */
async function assertion() {
  const { data: options } = await request("POST", "/auth/passkey/options");
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  return credential.toJSON();
}

export async function signInWithPasskey() {
  await logInWithPasskey(await assertion());
}

/** The API's checks (email free, display name) come first, so no passkey is made for an account that cannot exist. */
export async function signUpWithNewPasskey({ email, displayName }) {
  const { data: options } = await request("POST", "/auth/signup/passkey/options", { body: { email, displayName } });
  await signUpWithPasskey(await createCredential(options));
}

/** A fresh assertion of one of the signed-in account's passkeys, for DELETE /api/me (`{ passkeyAssertion }`). */
export async function passkeyProof() {
  return { passkeyAssertion: await assertion() };
}

/** The account's passkeys, newest first: `{ id, name, createdAt, lastUsedAt }`. */
export async function listPasskeys() {
  const { data } = await authorizedRequest("GET", "/me/passkeys");
  return Array.isArray(data?.passkeys) ? data.passkeys : [];
}

export async function addPasskey(name) {
  const { data: options } = await authorizedRequest("POST", "/me/passkeys/options");
  const credential = await createCredential(options);
  const { data } = await authorizedRequest("POST", "/me/passkeys", { body: name ? { credential, name } : { credential } });
  return data;
}

export async function renamePasskey(id, name) {
  const { data } = await authorizedRequest("PATCH", `/me/passkeys/${encodeURIComponent(id)}`, { body: { name } });
  return data;
}

/** Rejects with a 409 (`last-sign-in-method`) when it is the only way into an account without a password. */
export async function deletePasskey(id) {
  await authorizedRequest("DELETE", `/me/passkeys/${encodeURIComponent(id)}`);
}

/** Whether the signed-in account has a password (GET /api/me); an account made with a passkey has none until a reset. */
export async function accountHasPassword() {
  return (await fetchProfile()).hasPassword !== false;
}
