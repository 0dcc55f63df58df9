// The account panel's passkeys: the list (rename, remove), "Add a passkey", and for an account without a password the
// way to get one (a reset mail) in place of the password change. Strings from the API are set with textContent only.
import { ApiError, messageFor } from "./api.js";
import { requestPasswordReset } from "./mail.js";
import { accountHasPassword, addPasskey, ceremonyMessage, deletePasskey, listPasskeys, renamePasskey } from "./passkeys.js";
import { SessionEndedError, currentUser, onSessionChange } from "./session.js";
import { formatted, setText, whileBusy } from "./ui.js";

const $ = (id) => document.getElementById(id);
const passkeyList = $("passkeys");
const addForm = $("passkey-add-form");
const renameDialog = $("passkey-rename-dialog");
const renameForm = $("passkey-rename-form");
const deleteDialog = $("passkey-delete-dialog");

const lastWayIn =
  "This passkey is the only way into your account, so it stays. Add another passkey first, or set a password " +
  "(“Mail me a link to set a password”).";

/** id -> passkey, as last listed. */
const passkeys = new Map();
// Bumped when the signed-in user changes, so late answers for a previous user are dropped.
let epoch = 0;
let renaming = null;
let removing = null;

onSessionChange((user, reason) => {
  if (reason === "refreshed") return;
  epoch += 1;
  passkeys.clear();
  passkeyList.replaceChildren();
  for (const dialog of [renameDialog, deleteDialog]) if (dialog.open) dialog.close();
  for (const id of ["passkeys-error", "passkeys-status", "passkey-add-error", "passkey-add-name-error", "no-password-status"]) setText(id, "");
  addForm.reset();
  $("passkeys-empty").hidden = true;
  showPasswordState(true);
  if (user) load();
});

async function load() {
  const startedIn = epoch;
  setText("passkeys-error", "");
  try {
    const [listed, hasPassword] = await Promise.all([listPasskeys(), accountHasPassword()]);
    if (startedIn !== epoch) return;
    render(listed);
    showPasswordState(hasPassword);
  } catch (error) {
    if (startedIn !== epoch || error instanceof SessionEndedError) return;
    setText("passkeys-error", `Your passkeys could not be loaded. ${messageFor(error)}`);
  }
}

/** With a password: the password change. Without (a passkey account): a reset mail sets the first one. */
function showPasswordState(hasPassword) {
  $("password-form").hidden = !hasPassword;
  $("no-password").hidden = hasPassword;
}

function render(listed) {
  passkeys.clear();
  for (const passkey of listed) passkeys.set(passkey.id, passkey);
  passkeyList.replaceChildren(...listed.map(renderPasskey));
  $("passkeys-empty").hidden = listed.length > 0;
}

function renderPasskey(passkey) {
  const item = document.createElement("li");
  item.className = "passkey";
  item.dataset.passkeyId = passkey.id;
  const name = document.createElement("strong");
  name.className = "passkey-name";
  name.textContent = passkey.name;
  const times = document.createElement("span");
  times.className = "passkey-times";
  times.textContent = `Added ${formatted(passkey.createdAt)}, ${
    passkey.lastUsedAt ? `last used ${formatted(passkey.lastUsedAt)}` : "not used to sign in yet"
  }`;
  item.append(name, times,
    actionButton("Rename", "rename-passkey", "button secondary small", passkey, openRename),
    actionButton("Remove", "delete-passkey", "button danger-outline small", passkey, openRemove));
  return item;
}

function actionButton(text, action, className, passkey, open) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.dataset.action = action;
  const label = document.createElement("span");
  label.className = "visually-hidden";
  label.textContent = ` passkey “${passkey.name}”`;
  button.append(text, label);
  button.addEventListener("click", () => open(passkey.id, button));
  return button;
}

function announce(message) {
  setText("passkeys-status", message);
}

// ---- add ---------------------------------------------------------------------------------

addForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(addForm, "Waiting for your passkey…", async () => {
    const input = $("passkey-add-name");
    const name = input.value.trim();
    clearField(input, "passkey-add-error", "passkey-add-name-error");
    announce("");
    if (name.length > 64) return fieldError(input, "passkey-add-name-error", "Use at most 64 characters.");
    const startedIn = epoch;
    try {
      const added = await addPasskey(name || undefined);
      if (startedIn !== epoch) return;
      addForm.reset();
      announce(`Passkey “${added.name}” added. You can sign in with it now.`);
      await load();
    } catch (error) {
      if (startedIn !== epoch || error instanceof SessionEndedError) return;
      const nameErrors = error instanceof ApiError ? error.fieldErrors.name : undefined;
      if (nameErrors) return fieldError(input, "passkey-add-name-error", nameErrors.join(" "));
      setText("passkey-add-error", ceremonyMessage(error) ?? `The passkey was not added. ${messageFor(error)}`);
    }
  });
});

// ---- rename ------------------------------------------------------------------------------

function openRename(id, trigger) {
  renaming = { id, trigger };
  const input = $("passkey-rename-name");
  clearField(input, "passkey-rename-error", "passkey-rename-name-error");
  input.value = passkeys.get(id)?.name ?? "";
  renameDialog.showModal();
  input.select();
}

$("passkey-rename-cancel").addEventListener("click", () => closeAndReturn(renameDialog, renaming));
renameDialog.addEventListener("close", () => {
  renaming = null;
});

renameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(renameForm, "Saving…", async () => {
    if (!renaming) return;
    const { id, trigger } = renaming;
    const input = $("passkey-rename-name");
    const name = input.value.trim();
    clearField(input, "passkey-rename-error", "passkey-rename-name-error");
    if (!name) return fieldError(input, "passkey-rename-name-error", "Enter a name.");
    if (name.length > 64) return fieldError(input, "passkey-rename-name-error", "Use at most 64 characters.");
    const startedIn = epoch;
    try {
      const renamed = await renamePasskey(id, name);
      if (startedIn !== epoch) return;
      closeAndReturn(renameDialog, { trigger });
      announce(`Passkey renamed to “${renamed.name}”.`);
      await load();
      // The list was drawn again: focus the new Rename button of the same passkey.
      passkeyList.querySelector(`[data-passkey-id="${CSS.escape(id)}"] [data-action="rename-passkey"]`)?.focus();
    } catch (error) {
      if (startedIn !== epoch || error instanceof SessionEndedError) return;
      if (error instanceof ApiError && error.status === 404) return gone(renameDialog);
      const nameErrors = error instanceof ApiError ? error.fieldErrors.name : undefined;
      if (nameErrors) return fieldError(input, "passkey-rename-name-error", nameErrors.join(" "));
      setText("passkey-rename-error", `The passkey was not renamed. ${messageFor(error)}`);
    }
  });
});

// ---- remove ------------------------------------------------------------------------------

function openRemove(id, trigger) {
  removing = { id, trigger };
  setText("passkey-delete-message",
    `“${passkeys.get(id)?.name ?? "This passkey"}” will no longer sign you in. The passkey may stay on your device; ` +
      "your device's settings can remove it there.");
  setText("passkey-delete-error", "");
  deleteDialog.showModal();
  $("passkey-delete-cancel").focus();
}

$("passkey-delete-cancel").addEventListener("click", () => closeAndReturn(deleteDialog, removing));
deleteDialog.addEventListener("close", () => {
  removing = null;
});

$("passkey-delete-confirm").addEventListener("click", async () => {
  const button = $("passkey-delete-confirm");
  if (!removing || button.getAttribute("aria-disabled") === "true") return;
  const { id } = removing;
  const name = passkeys.get(id)?.name ?? "";
  const startedIn = epoch;
  button.setAttribute("aria-disabled", "true");
  setText("passkey-delete-error", "");
  try {
    await deletePasskey(id);
  } catch (error) {
    // 404: already gone, which is what the user asked for.
    if (!(error instanceof ApiError && error.status === 404)) {
      if (startedIn === epoch && !(error instanceof SessionEndedError)) {
        const last = error instanceof ApiError && error.status === 409;
        setText("passkey-delete-error", last ? lastWayIn : `The passkey was not removed. ${messageFor(error)}`);
      }
      return;
    }
  } finally {
    button.removeAttribute("aria-disabled");
  }
  if (startedIn !== epoch) return;
  deleteDialog.close();
  $("passkeys-heading").focus();
  announce(`Passkey “${name}” removed.`);
  await load();
});

// ---- an account without a password ---------------------------------------------------------

$("set-password-link").addEventListener("click", async () => {
  const button = $("set-password-link");
  const email = currentUser()?.email;
  if (!email || button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  setText("no-password-status", "Sending…");
  try {
    await requestPasswordReset(email);
    setText("no-password-status", `We sent a link to ${email}. Open it to choose a password; it works once, for 30 minutes.`);
  } catch (error) {
    setText("no-password-status", `The mail could not be sent. ${messageFor(error)}`);
  } finally {
    button.removeAttribute("aria-disabled");
  }
});

// ---- helpers -------------------------------------------------------------------------------

function gone(dialog) {
  dialog.close();
  $("passkeys-heading").focus();
  announce("That passkey no longer exists; it was removed elsewhere.");
  load();
}

function closeAndReturn(dialog, state) {
  const trigger = state?.trigger;
  if (dialog.open) dialog.close();
  if (trigger?.isConnected) trigger.focus();
}

function fieldError(input, errorId, message) {
  input.setAttribute("aria-invalid", "true");
  setText(errorId, message);
  input.focus();
}

function clearField(input, alertId, errorId) {
  input.removeAttribute("aria-invalid");
  setText(alertId, "");
  setText(errorId, "");
}
