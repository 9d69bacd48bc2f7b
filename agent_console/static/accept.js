// The invitation and password-reset pages: a JSON post with the link's token;
// the server answers with a session cookie and the agent lands in the console.
// An invitation may set up two-factor sign-in on the way (required when the
// site says so): the secret and its QR code come from POST
// /api/v1/invitations/2fa, the first code goes with the account, and the
// recovery codes are shown once before the console. A reset link for an
// account with two-factor answers like a login's first step: the code follows.

import { t, translate, toggleLocale } from "./i18n.js";

const form = document.getElementById("accept-form");
const errorEl = document.getElementById("accept-error");
const submit = form.querySelector('[data-testid="accept-submit"]');
const invite = form.dataset.kind === "invite";
const twoFactor = form.dataset.twoFactor; // "required", "optional" or ""
const q = (id) => form.querySelector(`[data-testid="${id}"]`);
let challenge = null; // a reset link's second step

translate(document);
document.getElementById("locale-toggle").addEventListener("click", () => toggleLocale());

function showError(text) {
  errorEl.textContent = text;
  errorEl.hidden = false;
}

async function post(path, body) {
  try {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    return { res, data: await res.json().catch(() => null) };
  } catch {
    return { res: null, data: null };
  }
}

function failed(res, data) {
  if (res && res.status === 410) showError(t("accept.gone"));
  else showError((data && data.error && data.error.message) || t("login.failed"));
}

const box = q("accept-twofa-box");
let setupDone = false;

async function showSetup() {
  box.hidden = false;
  if (setupDone) return;
  const { res, data } = await post("/api/v1/invitations/2fa", { token: form.dataset.token });
  if (!res || !res.ok) return failed(res, data);
  setupDone = true;
  const qr = q("accept-twofa-qr");
  qr.alt = t("twofa.qr");
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data.qr_svg)}`;
  q("accept-twofa-secret").textContent = data.secret;
}

if (twoFactor === "required") showSetup();
const toggle = q("accept-twofa-toggle");
if (toggle) {
  toggle.addEventListener("change", () => {
    if (toggle.checked) showSetup();
    else box.hidden = true;
  });
}

function showCodes(codes) {
  for (const field of form.querySelectorAll("label.field, fieldset")) field.hidden = true;
  submit.hidden = true;
  const list = q("accept-codes");
  list.replaceChildren(...codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
  q("accept-codes-box").hidden = false;
  q("accept-continue").focus();
}

async function finishReset() {
  const code = form.elements.code.value.trim();
  if (!code) return showError(t("accept.needCode"));
  submit.disabled = true;
  const { res, data } = await post("/api/v1/auth/login/2fa", { challenge, code });
  submit.disabled = false;
  if (res && res.ok) location.assign("/console");
  else failed(res, data);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  errorEl.hidden = true;
  if (challenge) return finishReset();
  const body = { token: form.dataset.token, password: form.elements.password.value };
  if (invite) body.name = form.elements.name.value.trim();
  if (invite && !body.name) return showError(t("accept.needName"));
  if (body.password.length < 10) return showError(t("accept.short"));
  if (box && !box.hidden) {
    body.code = form.elements.code.value.trim();
    if (!body.code) return showError(t("accept.needCode"));
  }
  submit.disabled = true;
  const { res, data } = await post(invite ? "/api/v1/invitations/accept" : "/api/v1/auth/reset", body);
  submit.disabled = false;
  if (!res || !res.ok) return failed(res, data);
  if (data.two_factor_required) {
    // The new password is set; the code from the agent's app comes next.
    challenge = data.challenge;
    form.elements.password.closest("label").hidden = true;
    submit.dataset.i18n = "login.submit";
    submit.textContent = t("login.submit");
    const field = q("reset-code-field");
    field.hidden = false;
    field.querySelector("input").focus();
    return;
  }
  if (data.recovery_codes) return showCodes(data.recovery_codes);
  location.assign("/console");
});
