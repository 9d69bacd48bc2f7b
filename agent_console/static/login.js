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

// Set once the password was right for an account with two-factor sign-in.
let challenge = null;

async function post(path, body) {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    return null;
  }
}

// The second step in place of the first: one field for the code.
function askForCode() {
  for (const el of form.querySelectorAll(".field")) el.hidden = true;
  const label = document.createElement("label");
  label.className = "field";
  const text = document.createElement("span");
  text.dataset.i18n = "login.code";
  const input = document.createElement("input");
  Object.assign(input, { type: "text", name: "code", inputMode: "numeric", autocomplete: "one-time-code", maxLength: 40, required: true });
  input.dataset.testid = "login-code";
  label.append(text, input);
  const hint = document.createElement("p");
  hint.className = "muted small";
  hint.dataset.i18n = "login.codeHint";
  submit.before(hint, label);
  translate(form);
  errorEl.hidden = true;
  input.focus();
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (challenge) return sendCode();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    showError("login.wrong");
    return;
  }
  submit.disabled = true;
  submit.textContent = t("login.submitting");
  const res = await post("/api/v1/auth/login", { email, password });
  submit.disabled = false;
  submit.textContent = t("login.submit");
  if (res && res.ok) {
    const data = await res.json().catch(() => ({}));
    if (data.two_factor_required) {
      challenge = data.challenge;
      askForCode();
      return;
    }
    location.assign("/console");
    return;
  }
  if (res && res.status === 401) showError("login.wrong");
  else if (res && res.status === 429) showError("login.throttled");
  else showError("login.failed");
  form.elements.password.value = "";
  form.elements.password.focus();
});

async function sendCode() {
  const input = form.elements.code;
  submit.disabled = true;
  const res = await post("/api/v1/auth/login/2fa", { challenge, code: input.value.trim() });
  submit.disabled = false;
  if (res && res.ok) {
    location.assign("/console");
    return;
  }
  if (res && res.status === 401) showError("login.wrongCode");
  else if (res && res.status === 429) showError("login.throttled");
  else showError("login.failed");
  input.value = "";
  input.focus();
}
