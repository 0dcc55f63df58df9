// A form's errors, for the forms whose inputs each have a `<prefix>-<field>-error` element and a `<prefix>-error`
// alert: messages from the page's own checks or the API's problem details, put next to their fields. Also resetting a
// form, and the "Show"/"Hide" buttons of password fields.
import { ApiError, messageFor } from "./api.js";
import { ceremonyMessage } from "./passkeys.js";
import { SessionEndedError } from "./session.js";

const $ = (id) => document.getElementById(id);

const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function fieldInputs(form, prefix) {
  return [...form.querySelectorAll("input[name], textarea[name]")].filter((input) =>
    document.getElementById(`${prefix}-${kebab(input.name)}-error`),
  );
}

export function clearErrors(form, prefix) {
  $(`${prefix}-error`).textContent = "";
  for (const input of fieldInputs(form, prefix)) {
    input.removeAttribute("aria-invalid");
    $(`${prefix}-${kebab(input.name)}-error`).textContent = "";
  }
}

/**
 * Puts each message next to its field (errors keyed by camelCase field name) and
 * anything else in the form-level alert. Focuses the first field in error.
 */
export function showErrors(form, prefix, fieldErrors, formMessage = "") {
  let firstInvalid = null;
  const unmatched = [];
  const inputs = fieldInputs(form, prefix);
  for (const input of inputs) {
    const messages = fieldErrors[input.name];
    if (!messages?.length) continue;
    input.setAttribute("aria-invalid", "true");
    $(`${prefix}-${kebab(input.name)}-error`).textContent = messages.join(" ");
    firstInvalid ??= input;
  }
  const known = new Set(inputs.map((input) => input.name));
  for (const [field, messages] of Object.entries(fieldErrors)) {
    if (!known.has(field)) unmatched.push(...messages);
  }
  const alertText = [formMessage, ...unmatched].filter(Boolean).join(" ");
  $(`${prefix}-error`).textContent =
    alertText || (firstInvalid ? "Please correct the highlighted field." : "");
  firstInvalid?.focus();
}

export function showApiError(form, prefix, error, fieldForStatus = {}) {
  if (error instanceof SessionEndedError) return;
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const field = error instanceof ApiError ? fieldForStatus[error.status] : undefined;
  if (field && Object.keys(fieldErrors).length === 0) {
    showErrors(form, prefix, { [field]: [messageFor(error)] });
  } else if (Object.keys(fieldErrors).length > 0) {
    showErrors(form, prefix, fieldErrors);
  } else {
    showErrors(form, prefix, {}, messageFor(error));
  }
}

/** A passkey ceremony's failure: the browser's refusal (cancelled, timed out, …) or the API's answer. */
export function showPasskeyError(form, prefix, error, fieldForStatus = {}) {
  const refusal = ceremonyMessage(error);
  if (refusal) showErrors(form, prefix, {}, refusal);
  else showApiError(form, prefix, error, fieldForStatus);
}

export function requireValue(errors, field, value, message) {
  if (!value) errors[field] = [message];
}

/** Empties the form and its errors, and shows its password fields as passwords again. */
export function resetForm(form, prefix) {
  form.reset();
  clearErrors(form, prefix);
  for (const input of form.querySelectorAll('input[type="text"][autocomplete$="password"]')) {
    input.type = "password";
  }
  for (const toggle of form.querySelectorAll(".toggle-password")) {
    toggle.setAttribute("aria-pressed", "false");
    toggle.firstChild.textContent = "Show";
  }
}

/** Wires every `.toggle-password` button (aria-controls names its input) to show or hide the password. */
export function wirePasswordToggles() {
  for (const toggle of document.querySelectorAll(".toggle-password")) {
    toggle.addEventListener("click", () => {
      const input = $(toggle.getAttribute("aria-controls"));
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      toggle.setAttribute("aria-pressed", String(show));
      toggle.firstChild.textContent = show ? "Hide" : "Show";
    });
  }
}
