// The signed-out forms: log in, sign up (each with its passkey button), "Forgot password?" (ask for a reset mail) and
// "Choose a new password" (the form a mail's reset link opens). A successful sign-in is the session listener's to show
// (app.js). Strings from the API are set with textContent only.
import { ApiError } from "./api.js";
import { clearErrors, requireValue, resetForm, showApiError, showErrors, showPasskeyError } from "./forms.js";
import { requestPasswordReset } from "./mail.js";
import { showMfaStep } from "./mfa-panel.js";
import { signInWithPasskey, signUpWithNewPasskey } from "./passkeys.js";
import { confirmPasswordReset, currentUser, logIn, signUp } from "./session.js";
import { whileBusy } from "./ui.js";
import { showAuth, showItemsView } from "./views.js";

const $ = (id) => document.getElementById(id);

const loginForm = $("login-form");
const signupForm = $("signup-form");
const forgotForm = $("forgot-form");
const newPasswordForm = $("reset-form");
const authForms = { login: loginForm, signup: signupForm, forgot: forgotForm, reset: newPasswordForm };

let resetToken = null;
let passwordWasReset = false;

/** Empties every auth form and forgets a reset link's token (a session has started). */
export function resetAuthForms() {
  for (const [prefix, form] of Object.entries(authForms)) resetForm(form, prefix);
  resetLinkForms();
}

/** Whether the session that just started came from "Choose a new password"; asking clears it. */
export function takePasswordWasReset() {
  const wasReset = passwordWasReset;
  passwordWasReset = false;
  return wasReset;
}

// ---- log in and sign up ------------------------------------------------------------------

loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(loginForm, "Logging in…", async () => {
    clearErrors(loginForm, "login");
    const email = loginForm.elements.email.value.trim();
    const password = loginForm.elements.password.value;
    const errors = {};
    requireValue(errors, "email", email, "Enter your email address.");
    requireValue(errors, "password", password, "Enter your password.");
    if (Object.keys(errors).length) return showErrors(loginForm, "login", errors);
    try {
      const answer = await logIn({ email, password });
      if (answer.mfaRequired) showMfaStep(answer.mfaToken);
    } catch (error) {
      showApiError(loginForm, "login", error);
    }
  });
});

signupForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(signupForm, "Creating account…", async () => {
    clearErrors(signupForm, "signup");
    const { email, displayName, errors } = signupFields();
    const password = signupForm.elements.password.value;
    requireValue(errors, "password", password, "Choose a password.");
    if (Object.keys(errors).length) return showErrors(signupForm, "signup", errors);
    try {
      await signUp({ email, password, displayName: displayName || undefined });
    } catch (error) {
      showApiError(signupForm, "signup", error, { 409: "email" });
    }
  });
});

function signupFields() {
  const email = signupForm.elements.email.value.trim();
  const displayName = signupForm.elements.displayName.value.trim();
  const errors = {};
  requireValue(errors, "email", email, "Enter your email address.");
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = ["Enter a valid email address."];
  if (displayName.length > 64) errors.displayName = ["Use at most 64 characters."];
  return { email, displayName, errors };
}

// ---- passkeys on the login and sign-up forms (shown only where the browser can do them) ----

// The API's one answer for every refused assertion; the likeliest reason a person can act on is a removed passkey.
const passkeyNotAccepted =
  "This passkey was not accepted. If you removed it from your account, log in with your password or another passkey.";

$("passkey-login").addEventListener("click", () => {
  whileBusy(loginForm, "Waiting for your passkey…", async () => {
    clearErrors(loginForm, "login");
    try {
      await signInWithPasskey();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return showErrors(loginForm, "login", {}, passkeyNotAccepted);
      showPasskeyError(loginForm, "login", error);
    }
  }, $("passkey-login"));
});

$("passkey-signup").addEventListener("click", () => {
  whileBusy(signupForm, "Waiting for your passkey…", async () => {
    clearErrors(signupForm, "signup");
    const { email, displayName, errors } = signupFields();
    if (Object.keys(errors).length) return showErrors(signupForm, "signup", errors);
    try {
      await signUpWithNewPasskey({ email, displayName: displayName || undefined });
    } catch (error) {
      const emailTaken = error instanceof ApiError && String(error.problem.type).endsWith("/email-taken");
      showPasskeyError(signupForm, "signup", error, emailTaken ? { 409: "email" } : {});
    }
  }, $("passkey-signup"));
});

$("show-signup").addEventListener("click", () => showAuth("signup"));
$("show-login").addEventListener("click", () => showAuth("login"));

// ---- forgotten password and the reset link ---------------------------------------------

$("show-forgot").addEventListener("click", () => {
  resetForm(forgotForm, "forgot");
  $("forgot-status").textContent = "";
  forgotForm.elements.email.value = loginForm.elements.email.value.trim();
  showAuth("forgot");
});
$("forgot-show-login").addEventListener("click", () => showAuth("login"));
$("reset-show-login").addEventListener("click", () => {
  // Opened from a link while signed in (the tab already showed the page): back to the items, not to a login form.
  if (currentUser()) {
    showItemsView();
    $("items-heading").focus();
  } else {
    showAuth("login");
  }
});
$("reset-request-new").addEventListener("click", () => {
  resetForm(forgotForm, "forgot");
  $("forgot-status").textContent = "";
  showAuth("forgot");
});

forgotForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(forgotForm, "Sending…", async () => {
    clearErrors(forgotForm, "forgot");
    $("forgot-status").textContent = "";
    const email = forgotForm.elements.email.value.trim();
    const errors = {};
    requireValue(errors, "email", email, "Enter your email address.");
    if (email && !/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = ["Enter a valid email address."];
    if (Object.keys(errors).length) return showErrors(forgotForm, "forgot", errors);
    try {
      await requestPasswordReset(email);
    } catch (error) {
      // 400 (a malformed email), 429, 503 or offline: nothing was asked for. The 202 below tells nothing about
      // whether the account exists, and neither does this page.
      return showApiError(forgotForm, "forgot", error);
    }
    $("forgot-status").textContent =
      `If an account exists for ${email}, a mail with a link to choose a new password is on its way. The link works once, for 30 minutes.`;
  });
});

function resetLinkForms() {
  resetToken = null;
  $("reset-request-new-row").hidden = true;
  $("forgot-status").textContent = "";
}

/** Shows "Choose a new password" for the token of a `#reset=` link, whatever session the tab has. */
export function openResetForm(token) {
  resetForm(newPasswordForm, "reset");
  resetLinkForms();
  resetToken = token;
  showAuth("reset", { focus: false });
  newPasswordForm.elements.newPassword.focus();
}

function resetLinkSpent() {
  resetToken = null;
  showErrors(newPasswordForm, "reset", {},
    "This reset link is unknown, already used or expired (a link works once, for 30 minutes). Ask for a new mail.");
  $("reset-request-new-row").hidden = false;
  $("reset-request-new").focus();
}

newPasswordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(newPasswordForm, "Saving…", async () => {
    clearErrors(newPasswordForm, "reset");
    if (!resetToken) return resetLinkSpent();
    const newPassword = newPasswordForm.elements.newPassword.value;
    const confirmPassword = newPasswordForm.elements.confirmPassword.value;
    const errors = {};
    requireValue(errors, "newPassword", newPassword, "Choose a new password.");
    requireValue(errors, "confirmPassword", confirmPassword, "Type the new password again.");
    if (newPassword && confirmPassword && newPassword !== confirmPassword) {
      errors.confirmPassword = ["The two passwords are not the same."];
    }
    if (Object.keys(errors).length) return showErrors(newPasswordForm, "reset", errors);
    passwordWasReset = true;
    try {
      // On 200 the session listener shows the items and announces the change.
      const answer = await confirmPasswordReset({ token: resetToken, newPassword });
      if (answer.mfaRequired) {
        // Two-step sign-in stays on after a reset: the new password signs in with a code.
        passwordWasReset = false;
        resetLinkForms();
        showMfaStep(answer.mfaToken);
      }
    } catch (error) {
      passwordWasReset = false;
      if (error instanceof ApiError && error.fieldErrors.token) return resetLinkSpent();
      showApiError(newPasswordForm, "reset", error);
    }
  });
});
