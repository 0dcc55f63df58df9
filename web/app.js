// The page: views, forms, the item list and its dialogs. Every string from the API is
// rendered with textContent, never as HTML.
import { ApiError, messageFor } from "./api.js";
import { pageSize } from "./config.js";
import { emailVerifiedNow, requestPasswordReset, sendVerificationEmail, takeLinkToken, verifyEmail } from "./mail.js";
import { accountHasPassword, passkeyProof, passkeysSupported, signInWithPasskey, signUpWithNewPasskey } from "./passkeys.js";
import {
  SessionEndedError,
  authorizedRequest,
  confirmPasswordReset,
  currentUser,
  deleteAccount,
  hasStoredSession,
  logIn,
  logOut,
  onSessionChange,
  restoreSession,
  signUp,
} from "./session.js";
import { formatted, whileBusy } from "./ui.js";
import { clearErrors, requireValue, resetForm, showApiError, showErrors, showPasskeyError, wirePasswordToggles } from "./forms.js";
import { openResetForm, resetAuthForms, takePasswordWasReset } from "./auth-forms.js";
import { followVerifyLink, hideVerifyBanner, showVerifyBanner } from "./verification.js";
import { announce, authShown, closeDialogs, renderAccount, showAuth, showItemsView, stillLoading } from "./views.js";

const $ = (id) => document.getElementById(id);

const itemForm = $("item-form");
const editForm = $("edit-form");
const editDialog = $("edit-dialog");
const confirmDialog = $("confirm-dialog");
const list = $("items");
const loadMoreButton = $("load-more");
const itemTemplate = $("item-template");

/** id -> { item, etag }; etag is null until a GET, POST or PUT has told us one. */
const entries = new Map();
let nextCursor = null;
let listLoading = false;
// Bumped when the signed-in user changes, so late answers for a previous user are dropped.
let epoch = 0;
let editing = null;
let deleting = null;

function itemFields(form) {
  const title = form.elements.title.value.trim();
  const description = form.elements.description.value.trim();
  const errors = {};
  requireValue(errors, "title", title, "Enter a title.");
  if (title.length > 200) errors.title = ["Use at most 200 characters."];
  if (description.length > 2000) errors.description = ["Use at most 2,000 characters."];
  return { errors, body: { title, description: description || null } };
}

for (const element of document.querySelectorAll("[data-needs-passkeys]")) element.hidden = !passkeysSupported;

wirePasswordToggles();

$("logout-button").addEventListener("click", async () => {
  const told = await logOut();
  if (!told) announce("Logged out on this device. The server could not be reached to end the session there.");
});

onSessionChange((user, reason) => {
  renderAccount(user);
  if (reason === "refreshed") return;
  epoch += 1;
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
  resetForm(itemForm, "item");
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

// ---- the list --------------------------------------------------------------------------

function resetItems() {
  entries.clear();
  list.replaceChildren();
  nextCursor = null;
  listLoading = false;
  loadMoreButton.hidden = true;
  $("items-error").textContent = "";
  $("items-retry").hidden = true;
  $("items-empty").hidden = true;
}

function updateListChrome() {
  loadMoreButton.hidden = !nextCursor;
  $("items-empty").hidden = listLoading || entries.size > 0 || !$("items-retry").hidden;
}

async function loadPage() {
  if (listLoading) return;
  const startedIn = epoch;
  const first = entries.size === 0 && !nextCursor;
  listLoading = true;
  list.setAttribute("aria-busy", "true");
  loadMoreButton.setAttribute("aria-disabled", "true");
  loadMoreButton.textContent = "Loading…";
  $("items-error").textContent = "";
  $("items-retry").hidden = true;
  const query = new URLSearchParams({ limit: String(pageSize) });
  if (nextCursor) query.set("cursor", nextCursor);
  try {
    const { data } = await authorizedRequest("GET", `/items?${query}`);
    if (startedIn !== epoch) return;
    const added = [];
    for (const item of data?.items ?? []) {
      if (entries.has(item.id)) continue;
      entries.set(item.id, { item, etag: null });
      const element = renderItem(item);
      list.append(element);
      added.push(element);
    }
    nextCursor = data?.nextCursor ?? null;
    if (!first) {
      announce(added.length === 1 ? "Loaded 1 more item." : `Loaded ${added.length} more items.`);
      // The button the user pressed disappears on the last page: keep focus nearby.
      if (!nextCursor && document.activeElement === loadMoreButton) (added[0] ?? $("items-heading")).focus();
    }
  } catch (error) {
    if (startedIn !== epoch || error instanceof SessionEndedError) return;
    $("items-error").textContent = `Couldn't load your items. ${messageFor(error)}`;
    if (first) $("items-retry").hidden = false;
  } finally {
    if (startedIn === epoch) {
      listLoading = false;
      list.setAttribute("aria-busy", "false");
      loadMoreButton.removeAttribute("aria-disabled");
      loadMoreButton.textContent = "Load more";
      updateListChrome();
    }
  }
}

loadMoreButton.addEventListener("click", () => loadPage());
$("items-retry").addEventListener("click", () => loadPage());

function renderItem(item, element = itemTemplate.content.firstElementChild.cloneNode(true)) {
  element.dataset.itemId = item.id;
  element.querySelector(".item-title").textContent = item.title;
  const description = element.querySelector(".item-description");
  description.textContent = item.description ?? "";
  description.hidden = !item.description;
  const meta = element.querySelector(".item-meta");
  meta.replaceChildren(timeElement("Added", item.createdAt));
  if (item.updatedAt && item.updatedAt !== item.createdAt) {
    meta.append(" · ", timeElement("Edited", item.updatedAt));
  }
  for (const label of element.querySelectorAll(".item-label")) label.textContent = ` “${item.title}”`;
  return element;
}

function timeElement(prefix, iso) {
  const span = document.createElement("span");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return span;
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = formatted(iso);
  span.append(`${prefix} `, time);
  return span;
}

function elementFor(id) {
  return [...list.children].find((li) => li.dataset.itemId === id) ?? null;
}

function storeItem(item, etag) {
  entries.set(item.id, { item, etag });
  const element = elementFor(item.id);
  if (element) renderItem(item, element);
}

function removeItem(id) {
  entries.delete(id);
  const element = elementFor(id);
  const neighbour = element?.nextElementSibling ?? element?.previousElementSibling ?? null;
  element?.remove();
  updateListChrome();
  return neighbour;
}

// ---- safe create retries ---------------------------------------------------------------

// A create whose answer is lost (503, network error) may have been stored all the same. Each
// new item gets a fresh Idempotency-Key, and a retry sends the same key again: the API then
// answers with the item it already stored instead of storing a second one (docs/api.md).
const createRetryDelaysMs = [500, 1500, 3000];
const maxRetryDelayMs = 5000;

function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function createItem(body) {
  const headers = { "Idempotency-Key": newIdempotencyKey() };
  for (let attempt = 0; ; attempt++) {
    try {
      return await authorizedRequest("POST", "/items", { body, headers });
    } catch (error) {
      const retriable = error instanceof ApiError && (error.status === 503 || error.status === 0);
      if (!retriable || attempt >= createRetryDelaysMs.length) throw error;
      const asked = (error.retryAfterSeconds ?? 0) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(createRetryDelaysMs[attempt], asked), maxRetryDelayMs)));
    }
  }
}

itemForm.addEventListener("submit", (event) => {
  event.preventDefault();
  whileBusy(itemForm, "Adding…", async () => {
    clearErrors(itemForm, "item");
    const { errors, body } = itemFields(itemForm);
    if (Object.keys(errors).length) return showErrors(itemForm, "item", errors);
    const startedIn = epoch;
    try {
      const { data, etag } = await createItem(body);
      if (startedIn !== epoch) return;
      if (!entries.has(data.id)) {
        entries.set(data.id, { item: data, etag });
        list.prepend(renderItem(data));
      }
      updateListChrome();
      itemForm.reset();
      itemForm.elements.title.focus();
      announce(`Added “${data.title}”.`);
    } catch (error) {
      if (startedIn === epoch) showApiError(itemForm, "item", error);
    }
  });
});

list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  const id = button?.closest("li[data-item-id]")?.dataset.itemId;
  if (!id || !entries.has(id)) return;
  if (button.dataset.action === "edit") openEdit(id, button);
  if (button.dataset.action === "delete") openDelete(id, button);
});

// ---- edit ------------------------------------------------------------------------------

function fillEditForm(item) {
  editForm.elements.title.value = item.title;
  editForm.elements.description.value = item.description ?? "";
}

function setEditLoading(loading) {
  editForm.elements.title.readOnly = loading;
  editForm.elements.description.readOnly = loading;
  editForm.setAttribute("aria-busy", String(loading));
  $("edit-save").setAttribute("aria-disabled", String(loading));
}

/** Reads the item again. Resolves to false when it no longer exists. */
async function reloadItem(id) {
  try {
    const { data, etag } = await authorizedRequest("GET", `/items/${encodeURIComponent(id)}`);
    storeItem(data, etag);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

function itemGone(id) {
  const neighbour = removeItem(id);
  closeDialogs();
  (neighbour ?? $("items-heading")).focus();
  announce("That item no longer exists; it was deleted elsewhere.");
}

async function openEdit(id, trigger) {
  const startedIn = epoch;
  editing = { id, trigger };
  clearErrors(editForm, "edit");
  fillEditForm(entries.get(id).item);
  editDialog.showModal();
  editForm.elements.title.focus();
  if (entries.get(id).etag) return;
  // Items from the list carry no ETag: fetch the current version so the save can be conditional.
  setEditLoading(true);
  try {
    if (!(await reloadItem(id))) return itemGone(id);
    if (startedIn === epoch && editing?.id === id) fillEditForm(entries.get(id).item);
  } catch (error) {
    if (startedIn === epoch && editing?.id === id) showApiError(editForm, "edit", error);
  } finally {
    if (editing?.id === id) setEditLoading(false);
  }
}

editForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!editing || editForm.getAttribute("aria-busy") === "true") return;
  const { id, trigger } = editing;
  whileBusy(editForm, "Saving…", async () => {
    clearErrors(editForm, "edit");
    const { errors, body } = itemFields(editForm);
    if (Object.keys(errors).length) return showErrors(editForm, "edit", errors);
    const startedIn = epoch;
    const etag = entries.get(id)?.etag;
    try {
      const { data, etag: newEtag } = await authorizedRequest("PUT", `/items/${encodeURIComponent(id)}`, {
        body,
        headers: etag ? { "If-Match": etag } : {},
      });
      if (startedIn !== epoch) return;
      storeItem(data, newEtag);
      if (editing?.id === id) {
        closeDialogs();
        trigger.focus();
      }
      announce(`Saved “${data.title}”.`);
    } catch (error) {
      if (startedIn !== epoch || editing?.id !== id) return;
      if (error instanceof ApiError && error.status === 404) return itemGone(id);
      if (error instanceof ApiError && error.status === 412) return staleEdit(id);
      showApiError(editForm, "edit", error);
    }
  });
});

async function staleEdit(id) {
  try {
    if (!(await reloadItem(id))) return itemGone(id);
  } catch (error) {
    return showErrors(editForm, "edit", {}, `This item was changed elsewhere and the latest version could not be loaded. ${messageFor(error)}`);
  }
  if (editing?.id !== id) return;
  fillEditForm(entries.get(id).item);
  showErrors(
    editForm,
    "edit",
    {},
    "This item was changed elsewhere, so your edit was not saved. The latest version is shown now: make your change again and save.",
  );
  editForm.elements.title.focus();
}

$("edit-cancel").addEventListener("click", () => {
  const trigger = editing?.trigger;
  closeDialogs();
  trigger?.focus();
});

editDialog.addEventListener("close", () => {
  editing = null;
  setEditLoading(false);
});

// ---- delete ----------------------------------------------------------------------------

function openDelete(id, trigger) {
  deleting = { id, trigger };
  $("confirm-message").textContent = `“${entries.get(id).item.title}” will be deleted. This cannot be undone.`;
  $("confirm-error").textContent = "";
  confirmDialog.showModal();
  $("cancel-delete").focus();
}

$("cancel-delete").addEventListener("click", () => {
  const trigger = deleting?.trigger;
  closeDialogs();
  trigger?.focus();
});

confirmDialog.addEventListener("close", () => {
  deleting = null;
});

$("confirm-delete").addEventListener("click", async () => {
  const button = $("confirm-delete");
  if (!deleting || button.getAttribute("aria-disabled") === "true") return;
  const { id } = deleting;
  const title = entries.get(id)?.item.title ?? "";
  const startedIn = epoch;
  button.setAttribute("aria-disabled", "true");
  button.textContent = "Deleting…";
  $("confirm-error").textContent = "";
  try {
    await authorizedRequest("DELETE", `/items/${encodeURIComponent(id)}`);
  } catch (error) {
    // 404: already gone, which is what the user asked for.
    if (!(error instanceof ApiError && error.status === 404)) {
      if (startedIn === epoch && deleting?.id === id && !(error instanceof SessionEndedError)) {
        $("confirm-error").textContent = `Couldn't delete the item. ${messageFor(error)}`;
      }
      return;
    }
  } finally {
    button.removeAttribute("aria-disabled");
    button.textContent = "Delete";
  }
  if (startedIn !== epoch) return;
  const neighbour = removeItem(id);
  closeDialogs();
  (neighbour ?? itemForm.elements.title).focus();
  announce(`Deleted “${title}”.`);
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
