// The account panel: the signed-in sessions with "sign out" per session and "sign out
// everywhere", and the password change. Strings from the API are set with textContent only.
import { ApiError } from "./api.js";
import { changePassword, listSessions, onSessionChange, signOutEverywhere, signOutSession } from "./session.js";
import { formatted, setText } from "./ui.js";

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
