// The account page (everyone): name and console language (PATCH /api/v1/account),
// the password (POST /api/v1/account/password: this session stays, the others end),
// sessions (device, address, last used) and "log out other sessions".

import { t, setLocale, onLocaleChange } from "./i18n.js";
import { api } from "./api.js";
import { errorText, showToast } from "./shell.js";
import { startPage } from "./page_shell.js";
import { NotifyForm } from "./notify_form.js";

const q = (sel) => document.querySelector(sel);

class AccountPage {
  constructor(shell) {
    this.shell = shell;
    this.data = null;
    this.error = q('[data-testid="account-error"]');
  }

  start() {
    q("#profile-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveProfile();
    });
    q("#password-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.changePassword();
    });
    q('[data-testid="sessions-end-others"]').addEventListener("click", () => this.endOthers());
    q('[data-testid="twofa-setup"]').addEventListener("click", () => this.setup2fa());
    q("#twofa-enable-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.enable2fa();
    });
    q("#twofa-disable-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.disable2fa();
    });
    new NotifyForm(q("#notify-form")).start();
    onLocaleChange(() => this.render());
    this.load();
  }

  async run(fn, status) {
    this.error.hidden = true;
    try {
      return await fn();
    } catch (err) {
      const text = err.message || errorText(err.code);
      if (status) status.textContent = text;
      else {
        this.error.textContent = text;
        this.error.hidden = false;
      }
      return null;
    }
  }

  async load() {
    const data = await this.run(() => api("/api/v1/account"));
    if (!data) return;
    this.data = data;
    const f = q("#profile-form").elements;
    f.name.value = data.agent.name;
    f.locale.value = data.locale || document.documentElement.lang || "id";
    q("#account-main").setAttribute("aria-busy", "false");
    this.render();
  }

  render() {
    if (!this.data) return;
    const tf = this.data.two_factor;
    const state = tf.enabled ? t("twofa.on", { n: tf.recovery_codes_left }) : t(tf.required ? "twofa.required" : "twofa.off");
    q('[data-testid="twofa-state"]').textContent = state;
    q('[data-testid="twofa-setup"]').hidden = tf.enabled || !q('[data-testid="twofa-setup-box"]').hidden;
    q("#twofa-disable-form").hidden = !tf.enabled || tf.required;
    const list = q('[data-testid="session-list"]');
    list.replaceChildren(...this.data.sessions.map((s) => {
      const li = document.createElement("li");
      li.dataset.testid = "session";
      if (s.current) li.dataset.current = "true";
      const used = new Date(s.last_used_at || s.created_at).toLocaleString();
      li.textContent = `${s.device || t("account.unknownDevice")} · ${s.address || "?"} · ${t("account.lastUsed", { when: used })}`;
      if (s.current) li.append(" ", Object.assign(document.createElement("strong"), { textContent: t("account.thisSession") }));
      return li;
    }));
  }

  async saveProfile() {
    const f = q("#profile-form").elements;
    const saved = q('[data-testid="account-saved"]');
    const body = { name: f.name.value.trim(), locale: f.locale.value };
    const data = await this.run(() => api("/api/v1/account", { method: "PATCH", body }), saved);
    if (!data) return;
    this.data = data;
    setLocale(data.locale);
    document.getElementById("agent-name").textContent = data.agent.name;
    saved.textContent = t("settings.saved");
  }

  async changePassword() {
    const f = q("#password-form").elements;
    const saved = q('[data-testid="password-saved"]');
    const body = { current_password: f.current.value, new_password: f.new.value };
    const done = await this.run(() => api("/api/v1/account/password", { method: "POST", body }), saved);
    if (!done) return;
    f.current.value = "";
    f.new.value = "";
    saved.textContent = t("account.passwordChanged");
    this.load();
  }

  async setup2fa() {
    const status = q('[data-testid="twofa-error"]');
    const setup = await this.run(() => api("/api/v1/account/2fa/setup", { method: "POST" }), status);
    if (!setup) return;
    q('[data-testid="twofa-qr"]').alt = t("twofa.qr");
    q('[data-testid="twofa-qr"]').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qr_svg)}`;
    q('[data-testid="twofa-secret"]').textContent = setup.secret;
    q('[data-testid="twofa-setup-box"]').hidden = false;
    q('[data-testid="twofa-setup"]').hidden = true;
    q('[data-testid="twofa-code"]').focus();
  }

  async enable2fa() {
    const status = q('[data-testid="twofa-error"]');
    status.textContent = "";
    const code = q('[data-testid="twofa-code"]').value.trim();
    const done = await this.run(() => api("/api/v1/account/2fa/enable", { method: "POST", body: { code } }), status);
    if (!done) return;
    q('[data-testid="twofa-setup-box"]').hidden = true;
    const list = q('[data-testid="twofa-codes"]');
    list.replaceChildren(...done.recovery_codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
    q('[data-testid="twofa-codes-box"]').hidden = false;
    if (this.shell.boot.must_enroll) {
      this.shell.boot.must_enroll = false;
      showToast(t("twofa.nowOpen"));
    }
    this.load();
  }

  async disable2fa() {
    const status = q('[data-testid="twofa-error"]');
    const password = q('[data-testid="twofa-disable-password"]').value;
    const done = await this.run(() => api("/api/v1/account/2fa/disable", { method: "POST", body: { password } }), status);
    if (!done) return;
    q('[data-testid="twofa-disable-password"]').value = "";
    q('[data-testid="twofa-codes-box"]').hidden = true;
    this.load();
  }

  async endOthers() {
    const status = q('[data-testid="sessions-ended"]');
    const done = await this.run(() => api("/api/v1/account/sessions/end-others", { method: "POST" }), status);
    if (!done) return;
    status.textContent = t("account.ended", { n: done.sessions_ended });
    this.load();
  }
}

const shell = startPage("account.title");
if (shell) new AccountPage(shell).start();
