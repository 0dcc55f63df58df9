// Email verification: the banner that asks a signed-in user with an unverified address to open the mail's link (with
// "Send again"), and the result of a `#verify=` link in #notice. Strings from the API are set with textContent only.
import { ApiError, messageFor } from "./api.js";
import { emailVerifiedNow, sendVerificationEmail, verifyEmail } from "./mail.js";
import { SessionEndedError, currentUser } from "./session.js";

const $ = (id) => document.getElementById(id);
const verifyBanner = $("verify-banner");

// Bumped for every check of the verification state, so only the newest answer shows.
let bannerCheck = 0;

/** Verifies the email of a `#verify=` link's account and says how that went in #notice, signed in or not. */
export async function followVerifyLink(token) {
  const notice = $("notice");
  try {
    await verifyEmail(token);
    notice.textContent = "Thank you: your email address is verified.";
    if (currentUser()) refreshVerifyBanner();
  } catch (error) {
    notice.textContent =
      error instanceof ApiError && error.status === 400
        ? `This verification link is unknown, already used or expired. ${
            currentUser() ? "Use “Send again” to get a new one." : "Log in, then use “Send again” to get a new one."
          }`
        : `Your email address could not be verified. ${messageFor(error)} Open the link again to retry.`;
  }
}

/** Hides the banner (signed out), and drops the answer of a check still in flight. */
export function hideVerifyBanner() {
  bannerCheck += 1;
  verifyBanner.hidden = true;
  $("verify-banner-status").textContent = "";
}

/** Shows the banner at once from the session's user, then asks GET /api/me, since the session's copy can be older. */
export function showVerifyBanner(user) {
  $("verify-banner-email").textContent = user.email;
  $("verify-banner-status").textContent = "";
  verifyBanner.hidden = user.emailVerified !== false;
  if (user.emailVerified === false) refreshVerifyBanner();
}

async function refreshVerifyBanner() {
  const check = ++bannerCheck;
  try {
    const verified = await emailVerifiedNow();
    if (check === bannerCheck && currentUser()) verifyBanner.hidden = verified;
  } catch {
    // Keep what is shown: the banner is a reminder, and the next sign-in checks again.
  }
}

$("verify-send-again").addEventListener("click", async () => {
  const button = $("verify-send-again");
  const status = $("verify-banner-status");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  status.textContent = "Sending…";
  try {
    await sendVerificationEmail();
    status.textContent = "Sent. Open the link in the new mail; older links still work until they expire.";
  } catch (error) {
    if (error instanceof SessionEndedError) return;
    if (error instanceof ApiError && error.status === 429) {
      const seconds = error.retryAfterSeconds;
      status.textContent = `A mail was sent less than a minute ago. Please wait a minute${
        seconds === null ? "" : ` (${Math.max(1, seconds)} seconds)`
      } before asking again.`;
    } else {
      status.textContent = `The mail could not be sent. ${messageFor(error)}`;
    }
  } finally {
    button.removeAttribute("aria-disabled");
  }
});
