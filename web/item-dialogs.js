// The item dialogs: "Edit item" (a conditional PUT with the item's ETag; a 412 shows the latest version) and
// "Delete item?", opened from the buttons of the items view's list. Every string from the API is rendered with
// textContent, never as HTML.
import { ApiError, messageFor } from "./api.js";
import { clearErrors, showApiError, showErrors } from "./forms.js";
import { entries, epoch, itemFields, removeItem, storeItem } from "./items-view.js";
import { SessionEndedError, authorizedRequest } from "./session.js";
import { whileBusy } from "./ui.js";
import { announce, closeDialogs } from "./views.js";

const $ = (id) => document.getElementById(id);

const itemForm = $("item-form");
const editForm = $("edit-form");
const editDialog = $("edit-dialog");
const confirmDialog = $("confirm-dialog");
const list = $("items");

let editing = null;
let deleting = null;

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
