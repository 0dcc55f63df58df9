// The account panel: the signed-in sessions with "sign out" per session and "sign out
// everywhere", and the password change; and the account's deletion (the header's button and
// its dialog). Strings from the API are set with textContent only.
import { ApiError } from "./api.js";
import { clearErrors, requireValue, resetForm, showApiError, showErrors, showPasskeyError } from "./forms.js";
import { accountHasPassword, passkeyProof, passkeysSupported } from "./passkeys.js";
import {
  changePassword,
  currentUser,
  deleteAccount,
  listSessions,
  onSessionChange,
  signOutEverywhere,
  signOutSession,
} from "./session.js";
import { formatted, setText, whileBusy } from "./ui.js";

const $ = (id) => document.getElementById(id);
const sessionList = $("sessions");
const passwordForm = $("password-form");

onSessionChange((user, reason) => {
  if (!user) {
    sessionList.replaceChildren();
    passwordForm.reset();
    setText("password-status", "");
    return;
  }
  if (reason !== "refreshed") loadSessions();
});

async function loadSessions() {
  setText("sessions-error", "");
  try {
    renderSessions(await listSessions());
  } catch (error) {
    setText("sessions-error", messageOf(error, "Your sessions could not be loaded."));
  }
}

function renderSessions(sessions) {
  sessionList.replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      item.className = "session";
      item.dataset.sessionId = session.id;
      const name = document.createElement("strong");
      name.textContent = session.client || "Unknown device";
      const times = document.createElement("span");
      times.className = "session-times";
      times.textContent = ` signed in ${formatted(session.createdAt)}, last active ${formatted(session.lastUsedAt)}`;
      item.append(name, times);
      if (session.current) {
        const badge = document.createElement("span");
        badge.className = "session-current";
        badge.textContent = " (this device)";
        name.after(badge);
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button secondary small";
        button.dataset.action = "sign-out-session";
        button.textContent = "Sign out";
        button.addEventListener("click", () => endOne(session.id, button));
        item.append(" ", button);
      }
      return item;
    }),
  );
}

async function endOne(id, button) {
  button.disabled = true;
  try {
    await signOutSession(id);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      setText("sessions-error", messageOf(error, "That session could not be signed out."));
      button.disabled = false;
      return;
    }
  }
  await loadSessions();
}

$("sign-out-everywhere").addEventListener("click", async (event) => {
  event.currentTarget.disabled = true;
  try {
    await signOutEverywhere();
  } catch (error) {
    setText("sessions-error", messageOf(error, "Could not sign out everywhere."));
  } finally {
    $("sign-out-everywhere").disabled = false;
  }
});

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  for (const id of ["password-error", "password-current-error", "password-new-error", "password-status"]) setText(id, "");
  const currentPassword = $("password-current").value;
  const newPassword = $("password-new").value;
  if (!currentPassword || !newPassword) {
    if (!currentPassword) setText("password-current-error", "Enter your current password.");
    if (!newPassword) setText("password-new-error", "Enter a new password.");
    return;
  }
  passwordForm.setAttribute("aria-busy", "true");
  try {
    await changePassword({ currentPassword, newPassword });
    passwordForm.reset();
    setText("password-status", "Password changed. Every other session has been signed out.");
    await loadSessions();
  } catch (error) {
    const fields = error instanceof ApiError ? error.fieldErrors : {};
    if (fields.currentPassword) setText("password-current-error", fields.currentPassword.join(" "));
    if (fields.newPassword) setText("password-new-error", fields.newPassword.join(" "));
    if (!fields.currentPassword && !fields.newPassword) setText("password-error", messageOf(error, "The password could not be changed."));
  } finally {
    passwordForm.setAttribute("aria-busy", "false");
  }
});

function messageOf(error, fallback) {
  if (error instanceof ApiError && error.status === 429) {
    return `Too many attempts. Try again in ${Math.ceil((error.retryAfterSeconds ?? 900) / 60)} minutes.`;
  }
  if (error instanceof ApiError && error.status === 0) return error.message;
  return fallback;
}

// ---- account deletion ------------------------------------------------------------------

const deleteAccountDialog = $("delete-account-dialog");
const deleteAccountForm = $("delete-account-form");

// An account made with a passkey has no password until a reset sets one: it confirms with a passkey instead.
let deleteWithPasskey = false;

function setDeletionProof(withPasskey) {
  deleteWithPasskey = withPasskey;
  $("delete-account-password-field").hidden = withPasskey;
  $("delete-account-proof-text").textContent = withPasskey ? ", then confirm with your passkey" : " and your password";
  $("delete-account-submit").textContent = withPasskey ? "Confirm with passkey and delete" : "Delete account";
}

$("delete-account-button").addEventListener("click", async () => {
  resetForm(deleteAccountForm, "delete-account");
  setDeletionProof(false);
  deleteAccountDialog.showModal();
  $("delete-account-confirmation").focus();
  deleteAccountForm.setAttribute("aria-busy", "true");
  try {
    if (!(await accountHasPassword())) setDeletionProof(true);
    if (deleteWithPasskey && !passkeysSupported) {
      showErrors(deleteAccountForm, "delete-account", {},
        "Your account has no password, and this browser cannot use passkeys: delete it from a browser that can.");
    }
  } catch (error) {
    // The password field stays: an account with a password is the common case, and a wrong guess is the API's 400.
    if (deleteAccountDialog.open) showApiError(deleteAccountForm, "delete-account", error);
  } finally {
    deleteAccountForm.setAttribute("aria-busy", "false");
  }
});

$("delete-account-cancel").addEventListener("click", () => deleteAccountDialog.close());

// Typed confirmation: the account's own email (any case) or the word "delete", so a stray click deletes nothing.
function confirmsDeletion(typed) {
  const value = typed.trim().toLowerCase();
  return value === "delete" || value === (currentUser()?.email ?? "").toLowerCase();
}

deleteAccountForm.addEventListener("submit", (event) => {
  event.preventDefault();
  clearErrors(deleteAccountForm, "delete-account");
  const confirmation = $("delete-account-confirmation").value;
  const password = $("delete-account-password").value;
  const errors = {};
  if (!confirmsDeletion(confirmation)) errors.confirmation = ["Type your email address, or the word delete."];
  if (!deleteWithPasskey) requireValue(errors, "password", password, "Enter your password.");
  if (Object.keys(errors).length > 0) {
    showErrors(deleteAccountForm, "delete-account", errors);
    return;
  }
  if (deleteAccountForm.getAttribute("aria-busy") === "true") return;
  whileBusy(deleteAccountForm, "Deleting…", async () => {
    try {
      // On success the session listener (app.js) closes this dialog and shows sign-up.
      await deleteAccount(deleteWithPasskey ? await passkeyProof() : { password });
    } catch (error) {
      showPasskeyError(deleteAccountForm, "delete-account", error);
    }
  });
});
