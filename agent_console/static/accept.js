// The invitation and password-reset pages: a JSON post with the link's token;
// the server answers with a session cookie and the agent lands in the console.

import { t, translate, toggleLocale } from "./i18n.js";

const form = document.getElementById("accept-form");
const errorEl = document.getElementById("accept-error");
const submit = form.querySelector('[data-testid="accept-submit"]');
const invite = form.dataset.kind === "invite";

translate(document);
document.getElementById("locale-toggle").addEventListener("click", () => toggleLocale());

function showError(text) {
  errorEl.textContent = text;
  errorEl.hidden = false;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { token: form.dataset.token, password: form.elements.password.value };
  if (invite) body.name = form.elements.name.value.trim();
  if (invite && !body.name) return showError(t("accept.needName"));
  if (body.password.length < 10) return showError(t("accept.short"));
  submit.disabled = true;
  let res = null;
  let data = null;
  try {
    res = await fetch(invite ? "/api/v1/invitations/accept" : "/api/v1/auth/reset", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    data = await res.json();
  } catch {
    // Shown below.
  }
  submit.disabled = false;
  if (res && res.ok) {
    location.assign("/console");
    return;
  }
  if (res && res.status === 410) showError(t("accept.gone"));
  else showError((data && data.error && data.error.message) || t("login.failed"));
});
