// Two-step sign-in: the login form's code step (after a right password, when the account has it on), and the account
// panel's section: set-up (QR code and the key as text, confirmed with a code), the recovery codes shown once (copy,
// .txt download), turning it off and new recovery codes. Strings from the API are set with textContent only; the QR
// code is an <img> of the API's SVG, so nothing in it can run.
import { ApiError } from "./api.js";
import { clearErrors, requireValue, resetForm, showApiError, showErrors, showPasskeyError } from "./forms.js";
import { passkeyProof } from "./passkeys.js";
import { SessionEndedError, authorizedRequest, fetchProfile, finishMfaSignIn, onSessionChange } from "./session.js";
import { setText, whileBusy } from "./ui.js";
import { showAuth } from "./views.js";

const $ = (id) => document.getElementById(id);

// ---- the login form's code step ------------------------------------------------------------

const stepForm = $("mfa-form");
let mfaToken = null;
let usingRecoveryCode = false;

/** Shows the code step for the mfaToken of a sign-in whose password was right. */
export function showMfaStep(token) {
  mfaToken = token;
  resetForm(stepForm, "mfa");
  useRecoveryCode(false);
  showAuth("mfa");
}

function useRecoveryCode(on) {
  usingRecoveryCode = on;
  $("mfa-code-field").hidden = on;
  $("mfa-recovery-field").hidden = !on;
  $("mfa-use-recovery").textContent = on ? "Use a code from the app" : "Use a recovery code";
  (on ? $("mfa-recovery-code") : $("mfa-code")).focus();
}

$("mfa-use-recovery").addEventListener("click", () => {
  clearErrors(stepForm, "mfa");
  useRecoveryCode(!usingRecoveryCode);
});

$("mfa-show-login").addEventListener("click", () => {
  mfaToken = null;
  showAuth("login");
});

stepForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(stepForm, "Checking…", async () => {
    clearErrors(stepForm, "mfa");
    const errors = {};
    const code = stepForm.elements.code.value.replace(/\s/g, "");
    const recoveryCode = stepForm.elements.recoveryCode.value.trim();
    if (usingRecoveryCode) requireValue(errors, "recoveryCode", recoveryCode, "Enter one of your recovery codes.");
    else if (!/^\d{6}$/.test(code)) errors.code = ["Enter the 6 digits your authenticator app shows."];
    if (Object.keys(errors).length) return showErrors(stepForm, "mfa", errors);
    try {
      // On 200 the session listener shows the items.
      await finishMfaSignIn(usingRecoveryCode ? { mfaToken, recoveryCode } : { mfaToken, code });
      mfaToken = null;
      resetForm(stepForm, "mfa");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        return showErrors(stepForm, "mfa", {}, usingRecoveryCode
          ? "This recovery code is not right, or was used already. If this keeps happening, go back and log in again."
          : "This code is not right, or was used already. Wait for the next code; if this keeps happening, go back and log in again.");
      }
      showApiError(stepForm, "mfa", error);
    }
  });
});

// ---- the account panel's section -------------------------------------------------------------

const enrolForm = $("mfa-enrol-form");
const confirmForm = $("mfa-confirm-form");
const manageForm = $("mfa-manage-form");
const codesBox = $("mfa-codes");
let epoch = 0;
let hasPassword = true;
let downloadUrl = null;

onSessionChange((user, reason) => {
  if (reason === "refreshed") return;
  epoch += 1;
  for (const [form, prefix] of [[enrolForm, "mfa-enrol"], [confirmForm, "mfa-confirm"], [manageForm, "mfa-manage"]]) resetForm(form, prefix);
  showCodes(null);
  setText("mfa-panel-error", "");
  setText("mfa-panel-status", "");
  for (const element of [enrolForm, confirmForm, manageForm]) element.hidden = true;
  if (user) load();
});

async function load() {
  const startedIn = epoch;
  try {
    const profile = await fetchProfile();
    if (startedIn !== epoch) return;
    hasPassword = profile.hasPassword !== false;
    for (const field of document.querySelectorAll("[data-mfa-password]")) field.hidden = !hasPassword;
    showState(profile.mfaEnabled === true);
  } catch (error) {
    if (startedIn !== epoch || error instanceof SessionEndedError) return;
    setText("mfa-panel-error", "Two-step sign-in could not be loaded.");
  }
}

function showState(on) {
  setText("mfa-state", on
    ? "Two-step sign-in is on: signing in takes your password and a code from your authenticator app."
    : "Two-step sign-in is off. Turn it on to ask for a code from an authenticator app after your password.");
  enrolForm.hidden = on;
  manageForm.hidden = !on;
  confirmForm.hidden = true;
}

/** The proof the API asks for: the password, or (an account without one) a passkey assertion. */
async function proof(form) {
  return hasPassword ? { password: form.elements.password.value } : { passkeyAssertion: await passkeyProof() };
}

enrolForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(enrolForm, "Starting…", async () => {
    clearErrors(enrolForm, "mfa-enrol");
    const errors = {};
    if (hasPassword) requireValue(errors, "password", enrolForm.elements.password.value, "Enter your current password.");
    if (Object.keys(errors).length) return showErrors(enrolForm, "mfa-enrol", errors);
    const startedIn = epoch;
    try {
      const { data } = await authorizedRequest("POST", "/me/mfa/totp", { body: await proof(enrolForm) });
      if (startedIn !== epoch) return;
      resetForm(enrolForm, "mfa-enrol");
      $("mfa-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data.qrSvg)}`;
      $("mfa-secret").textContent = data.secret;
      enrolForm.hidden = true;
      confirmForm.hidden = false;
      $("mfa-confirm-heading").focus();
    } catch (error) {
      if (startedIn !== epoch || error instanceof SessionEndedError) return;
      hasPassword ? showApiError(enrolForm, "mfa-enrol", error) : showPasskeyError(enrolForm, "mfa-enrol", error);
    }
  });
});

confirmForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(confirmForm, "Checking…", async () => {
    clearErrors(confirmForm, "mfa-confirm");
    const code = confirmForm.elements.code.value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) return showErrors(confirmForm, "mfa-confirm", { code: ["Enter the 6 digits the app shows."] });
    const startedIn = epoch;
    try {
      const { data } = await authorizedRequest("POST", "/me/mfa/totp/confirm", { body: { code } });
      if (startedIn !== epoch) return;
      resetForm(confirmForm, "mfa-confirm");
      showState(true);
      showCodes(data.recoveryCodes);
      setText("mfa-panel-status", "Two-step sign-in is on. Your other sessions were signed out.");
    } catch (error) {
      if (startedIn !== epoch || error instanceof SessionEndedError) return;
      showApiError(confirmForm, "mfa-confirm", error);
    }
  });
});

/** Shows the recovery codes (once: they are not kept anywhere on the page after "I have saved them"); null hides them. */
function showCodes(codes) {
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  codesBox.hidden = !codes;
  $("mfa-recovery-codes").replaceChildren(...(codes ?? []).map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  }));
  if (!codes) return;
  downloadUrl = URL.createObjectURL(new Blob([`Recovery codes (each works once)\n\n${codes.join("\n")}\n`], { type: "text/plain" }));
  $("mfa-download").href = downloadUrl;
  $("mfa-codes-heading").focus();
}

$("mfa-copy").addEventListener("click", async () => {
  const codes = [...$("mfa-recovery-codes").children].map((item) => item.textContent).join("\n");
  try {
    await navigator.clipboard.writeText(codes);
    setText("mfa-panel-status", "The recovery codes are copied.");
  } catch {
    setText("mfa-panel-status", "Copying did not work here: download them, or write them down.");
  }
});

$("mfa-codes-done").addEventListener("click", () => {
  showCodes(null);
  $("mfa-section-heading").focus();
});

/** The manage form's proof and second factor: a 6-digit code, or else a recovery code. */
async function manageBody() {
  const factor = manageForm.elements.code.value.trim();
  return { ...(await proof(manageForm)), ...(/^\d{6}$/.test(factor.replace(/\s/g, "")) ? { code: factor.replace(/\s/g, "") } : { recoveryCode: factor }) };
}

function manage(button, busyLabel, method, path, done) {
  whileBusy(manageForm, busyLabel, async () => {
    clearErrors(manageForm, "mfa-manage");
    const errors = {};
    if (hasPassword) requireValue(errors, "password", manageForm.elements.password.value, "Enter your current password.");
    requireValue(errors, "code", manageForm.elements.code.value.trim(), "Enter a code from the app, or a recovery code.");
    if (Object.keys(errors).length) return showErrors(manageForm, "mfa-manage", errors);
    const startedIn = epoch;
    try {
      const { data } = await authorizedRequest(method, path, { body: await manageBody() });
      if (startedIn !== epoch) return;
      resetForm(manageForm, "mfa-manage");
      done(data);
    } catch (error) {
      if (startedIn !== epoch || error instanceof SessionEndedError) return;
      showApiError(manageForm, "mfa-manage", error);
    }
  }, button);
}

manageForm.addEventListener("submit", (event) => {
  event.preventDefault();
  manage(manageForm.querySelector('[type="submit"]'), "Turning off…", "DELETE", "/me/mfa/totp", () => {
    showState(false);
    setText("mfa-panel-status", "Two-step sign-in is off. Your other sessions were signed out.");
  });
});

$("mfa-new-codes").addEventListener("click", () => {
  manage($("mfa-new-codes"), "Making new codes…", "POST", "/me/mfa/recovery-codes", (data) => {
    showCodes(data.recoveryCodes);
    setText("mfa-panel-status", "New recovery codes: the old ones no longer work. Your other sessions were signed out.");
  });
});
