// Login page enhancement: the form works without JavaScript (form post, 303);
// with it, a JSON post keeps the typed email and shows errors without a reload.

import { t, translate, toggleLocale, onLocaleChange } from "./i18n.js";

const form = document.getElementById("login-form");
const errorEl = document.getElementById("login-error");
const submit = form.querySelector('[data-testid="login-submit"]');
let errorKey = null;

translate(document);
onLocaleChange(() => {
  if (errorKey) errorEl.textContent = t(errorKey);
});
document.getElementById("locale-toggle").addEventListener("click", () => toggleLocale());
// Sent here because the server ended the session (see console.js toLogin).
if (new URLSearchParams(location.search).has("ended") && errorEl.hidden) showError("login.ended");

function showError(key) {
  errorKey = key;
  errorEl.textContent = t(key);
  errorEl.hidden = false;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    showError("login.wrong");
    return;
  }
  submit.disabled = true;
  submit.textContent = t("login.submitting");
  let res;
  try {
    res = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ email, password }),
    });
  } catch {
    res = null;
  }
  submit.disabled = false;
  submit.textContent = t("login.submit");
  if (res && res.ok) {
    location.assign("/console");
    return;
  }
  if (res && res.status === 401) showError("login.wrong");
  else if (res && res.status === 429) showError("login.throttled");
  else showError("login.failed");
  form.elements.password.value = "";
  form.elements.password.focus();
});
