// The page's entry point: it loads the view modules, and wires what spans them: the session listener that switches
// between the signed-out forms and the items, log out, the mail links (on load and when only the fragment changes),
// and the start. The views: auth-forms.js (signed out), items-view.js and item-dialogs.js (the items),
// verification.js (the banner), and, loaded by index.html after this one, account.js and passkey-panel.js (the
// account panel). Every string from the API is rendered with textContent, never as HTML.
import { messageFor } from "./api.js";
import { openResetForm, resetAuthForms, takePasswordWasReset } from "./auth-forms.js";
import { wirePasswordToggles } from "./forms.js";
import "./item-dialogs.js";
import { loadPage, resetItemForm, resetItems } from "./items-view.js";
import { takeLinkToken } from "./mail.js";
import { passkeysSupported } from "./passkeys.js";
import { SessionEndedError, currentUser, hasStoredSession, logOut, onSessionChange, restoreSession } from "./session.js";
import { followVerifyLink, hideVerifyBanner, showVerifyBanner } from "./verification.js";
import { announce, authShown, closeDialogs, renderAccount, showAuth, showItemsView, stillLoading } from "./views.js";

const $ = (id) => document.getElementById(id);

for (const element of document.querySelectorAll("[data-needs-passkeys]")) element.hidden = !passkeysSupported;

wirePasswordToggles();

$("logout-button").addEventListener("click", async () => {
  const told = await logOut();
  if (!told) announce("Logged out on this device. The server could not be reached to end the session there.");
});

onSessionChange((user, reason) => {
  renderAccount(user);
  if (reason === "refreshed") return;
  resetItems();
  closeDialogs();
  announce("");
  if (user) {
    const pageLoad = stillLoading();
    const wasReset = takePasswordWasReset();
    resetAuthForms();
    showItemsView();
    // Move focus and announce only when the user acted (logged in, signed up, reset the password), not on a page load.
    if (!pageLoad) {
      $("items-heading").focus();
      const signedInAs = `Signed in as ${user.displayName?.trim() || user.email}.`;
      announce(wasReset ? `Your password has been changed. ${signedInAs}` : signedInAs);
    }
    showVerifyBanner(user);
    loadPage();
    return;
  }
  hideVerifyBanner();
  resetItemForm();
  if (reason === "deleted") {
    showAuth("signup");
    announce("Your account has been deleted.");
    return;
  }
  showAuth("login", { focus: !stillLoading() });
  if (reason === "expired") $("login-error").textContent = "Your session has ended. Please log in again.";
  if (reason === "logged-out") {
    $("notice").textContent = "";
    announce("You have logged out.");
  }
});

// A mail link pasted into a tab that already shows the page changes only the fragment: no reload, so handle it here.
window.addEventListener("hashchange", () => {
  const link = takeLinkToken();
  if (link?.kind === "reset") openResetForm(link.token);
  if (link?.kind === "verify") followVerifyLink(link.token);
});

// ---- start -----------------------------------------------------------------------------

async function start() {
  const link = takeLinkToken();
  if (link?.kind === "reset") {
    // A reset link opens its form whatever session this tab has; setting the password replaces that session.
    openResetForm(link.token);
    return;
  }
  if (link?.kind === "verify") followVerifyLink(link.token);
  if (!hasStoredSession()) {
    showAuth(location.hash === "#signup" ? "signup" : "login", { focus: false });
    return;
  }
  try {
    await restoreSession();
  } catch (error) {
    if (currentUser()) return;
    if (authShown()) return; // the session listener already showed the login form
    showAuth("login", { focus: false });
    if (!(error instanceof SessionEndedError)) {
      $("login-error").textContent = `Couldn't restore your session. ${messageFor(error)} Reload to try again, or log in.`;
    }
  }
}

start();
