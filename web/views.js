// Which view the page shows (loading, one of the auth forms, the items), the page title, the header's signed-in user,
// the status line, and closing the page's item and account-deletion dialogs. Strings are set with textContent only.
const $ = (id) => document.getElementById(id);

const views = { loading: $("loading-view"), auth: $("auth-view"), items: $("items-view") };
const authForms = { login: $("login-form"), signup: $("signup-form"), forgot: $("forgot-form"), reset: $("reset-form"), mfa: $("mfa-form") };
const authTitles = {
  login: "Log in",
  signup: "Create an account",
  forgot: "Reset your password",
  reset: "Choose a new password",
  mfa: "Two-step sign-in",
};
const pageDialogs = [$("edit-dialog"), $("confirm-dialog"), $("delete-account-dialog")];
let statusTimer = 0;

/** Whether the page still shows "Loading…" (no view chosen yet: the page has just loaded). */
export function stillLoading() {
  return !views.loading.hidden;
}

/** Whether one of the auth forms shows. */
export function authShown() {
  return !views.auth.hidden;
}

function showView(name) {
  for (const [key, element] of Object.entries(views)) element.hidden = key !== name;
}

/** which: "login", "signup", "forgot" (ask for a reset mail) or "reset" (choose a new password from a mail's link). */
export function showAuth(which, { focus = true } = {}) {
  showView("auth");
  for (const [key, form] of Object.entries(authForms)) form.hidden = key !== which;
  document.title = `${authTitles[which]} · My Items`;
  if (focus) $(`${which}-heading`).focus();
}

export function showItemsView() {
  showView("items");
  document.title = "My Items";
}

export function renderAccount(user) {
  $("account").hidden = !user;
  if (!user) return;
  const name = user.displayName?.trim();
  $("signed-in-user").querySelector(".user-name").textContent = name || user.email;
  $("signed-in-user").querySelector(".user-email").textContent = name ? user.email : "";
}

/** Says `message` in #status (role="status") for 8 seconds; "" clears it. */
export function announce(message) {
  const status = $("status");
  clearTimeout(statusTimer);
  status.textContent = message;
  statusTimer = setTimeout(() => {
    status.textContent = "";
  }, 8000);
}

/** Closes the item dialogs (edit, delete) and the account-deletion dialog, whichever is open. */
export function closeDialogs() {
  for (const dialog of pageDialogs) if (dialog.open) dialog.close();
}
