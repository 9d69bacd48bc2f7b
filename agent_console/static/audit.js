// The audit log (owners): GET /api/v1/audit with from/to/actor/action filters,
// newest first, paged with `before`; the CSV link carries the same filters;
// the retention (days) is GET/PUT /api/v1/audit/settings.

import { t, onLocaleChange } from "./i18n.js";
import { api } from "./api.js";
import { errorText } from "./shell.js";
import { startPage } from "./page_shell.js";

const ACTIONS = [
  "login", "login_failed", "login_2fa_failed", "invitation_created", "invitation_resent",
  "invitation_revoked", "invitation_accepted", "agent_activated", "agent_deactivated",
  "agent_role_changed", "agent_renamed", "agent_cap_changed", "password_reset_link", "password_reset",
  "password_changed", "sessions_ended", "2fa_enabled", "2fa_disabled", "2fa_reset", "2fa_required",
  "settings_changed", "api_token_rotated", "identity_secret_rotated", "faq_published",
  "faq_deleted", "faq_imported", "faq_reordered", "customer_exported", "customer_erased",
  "room_archived", "message_edited", "message_deleted",
  "team_created", "team_renamed", "team_deleted", "team_member_added", "team_member_removed",
  "label_created", "label_updated", "label_deleted",
];

const q = (sel) => document.querySelector(sel);

class AuditPage {
  constructor(shell) {
    this.agents = shell.boot.agents || [];
    this.rows = q("#audit-rows");
    this.form = q("#audit-filters");
    this.more = q('[data-testid="audit-more"]');
    this.error = q('[data-testid="audit-error"]');
    this.items = [];
  }

  start() {
    this.fillSelects();
    this.form.addEventListener("change", () => this.load());
    this.more.addEventListener("click", () => this.load(this.items[this.items.length - 1]?.id));
    q("#audit-retention").addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveRetention();
    });
    onLocaleChange(() => {
      this.fillSelects();
      this.render();
    });
    this.load();
    api("/api/v1/audit/settings").then((s) => { q('[data-testid="audit-retention"]').value = s.retention_days; }, () => {});
  }

  fillSelects() {
    const fill = (select, first, options) => {
      const keep = select.value;
      select.replaceChildren(new Option(t(first), ""), ...options.map(([v, text]) => new Option(text, v)));
      select.value = keep;
    };
    fill(this.form.elements.actor, "audit.anyone", this.agents.map((a) => [a.id, a.name]));
    fill(this.form.elements.action, "audit.anything", ACTIONS.map((a) => [a, t(`audit.a.${a}`)]));
  }

  filters() {
    const params = new URLSearchParams();
    const f = this.form.elements;
    if (f.from.value) params.set("from", f.from.value);
    if (f.to.value) params.set("to", `${f.to.value}T99`); // the whole last day (text comparison)
    if (f.actor.value) params.set("actor", f.actor.value);
    if (f.action.value) params.set("action", f.action.value);
    return params;
  }

  async load(before) {
    const params = this.filters();
    q('[data-testid="audit-csv"]').href = `/api/v1/audit.csv?${params}`;
    if (before) params.set("before", before);
    try {
      const data = await api(`/api/v1/audit?${params}`);
      this.items = before ? [...this.items, ...data.items] : data.items;
      this.more.hidden = !data.has_more;
      this.error.hidden = true;
    } catch (err) {
      this.error.textContent = errorText(err.code);
      this.error.hidden = false;
    }
    q("#audit-main").setAttribute("aria-busy", "false");
    this.render();
  }

  render() {
    this.rows.replaceChildren(...this.items.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "audit-row";
      tr.dataset.action = e.action;
      const label = t(`audit.a.${e.action}`);
      // An edited or unsent message: its words before the change, for the owners.
      const original = typeof e.detail?.body === "string" ? ` “${e.detail.body}”` : "";
      // A team or a label: its name (after a rename, the new one) beside its id.
      const d = /^(team|label)_/.test(e.action) ? e.detail || {} : {};
      const named = d.to || d.team || d.name;
      const what = typeof named === "string" ? ` “${named}”` : "";
      for (const text of [new Date(e.at).toLocaleString(), e.actor.name, label.startsWith("audit.a.") ? e.action : label, (e.target || "") + original + what, e.address || ""]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }));
  }

  async saveRetention() {
    const days = Number(q('[data-testid="audit-retention"]').value);
    const saved = q('[data-testid="audit-retention-saved"]');
    try {
      await api("/api/v1/audit/settings", { method: "PUT", body: { retention_days: days } });
      saved.textContent = t("settings.saved");
      this.load();
    } catch (err) {
      saved.textContent = err.message || errorText(err.code);
    }
  }
}

const shell = startPage("audit.title");
if (shell) new AuditPage(shell).start();
