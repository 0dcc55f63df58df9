// Small pieces the page's modules share: text into an element, dates as people read them, and a form that runs one
// submission at a time.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Sets an element's text (never HTML: strings from the API are shown as they are). */
export function setText(id, text) {
  document.getElementById(id).textContent = text;
}

/** An ISO timestamp in the reader's locale and time zone; "" for one that does not parse. */
export function formatted(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}

/** Runs one submission at a time per form, with the button that started it (the submit button by default) showing progress. */
export async function whileBusy(form, busyLabel, action, button = form.querySelector('[type="submit"]')) {
  if (form.dataset.busy) return;
  const label = button.textContent;
  form.dataset.busy = "true";
  form.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  button.textContent = busyLabel;
  try {
    await action();
  } finally {
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
    button.textContent = label;
  }
}
