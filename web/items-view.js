// The items view: the list of the signed-in user's items (paged with "Load more") and the "Add an item" form. The item
// dialogs (item-dialogs.js) edit and delete through storeItem and removeItem. Every string from the API is rendered
// with textContent, never as HTML.
import { ApiError, messageFor } from "./api.js";
import { pageSize } from "./config.js";
import { clearErrors, requireValue, resetForm, showApiError, showErrors } from "./forms.js";
import { SessionEndedError, authorizedRequest } from "./session.js";
import { formatted, whileBusy } from "./ui.js";
import { announce } from "./views.js";

const $ = (id) => document.getElementById(id);

const itemForm = $("item-form");
const list = $("items");
const loadMoreButton = $("load-more");
const itemTemplate = $("item-template");

/** id -> { item, etag }; etag is null until a GET, POST or PUT has told us one. */
export const entries = new Map();
let nextCursor = null;
let listLoading = false;
// Bumped when the signed-in user changes, so late answers for a previous user are dropped. Exported as a live binding:
// importers always read the current value.
export let epoch = 0;

/** The fields of the new-item form or the edit form, checked: errors keyed by field, and the body to send. */
export function itemFields(form) {
  const title = form.elements.title.value.trim();
  const description = form.elements.description.value.trim();
  const errors = {};
  requireValue(errors, "title", title, "Enter a title.");
  if (title.length > 200) errors.title = ["Use at most 200 characters."];
  if (description.length > 2000) errors.description = ["Use at most 2,000 characters."];
  return { errors, body: { title, description: description || null } };
}

/** Empties the "Add an item" form (signed out). */
export function resetItemForm() {
  resetForm(itemForm, "item");
}

// ---- the list --------------------------------------------------------------------------

/** Forgets the list (the signed-in user changed): answers still on their way for the previous one are dropped. */
export function resetItems() {
  epoch += 1;
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

export async function loadPage() {
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

export function storeItem(item, etag) {
  entries.set(item.id, { item, etag });
  const element = elementFor(item.id);
  if (element) renderItem(item, element);
}

export function removeItem(id) {
  entries.delete(id);
  const element = elementFor(id);
  const neighbour = element?.nextElementSibling ?? element?.previousElementSibling ?? null;
  element?.remove();
  updateListChrome();
  return neighbour;
}

// ---- new items, with safe create retries ---------------------------------------------------------------

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
