// The settings page (owners): the site's name, the widget's greeting, language
// and colour, the domains it may run on, the pre-chat form and how conversations
// are assigned (GET/PUT
// /api/v1/site), beside a small report of the last 30 days
// (GET /api/v1/reports/summary). Agents see the same page read-only.

import { t, onLocaleChange } from "./i18n.js";
import { setText, setAttr } from "./dom.js";
import { errorText } from "./shell.js";
import { startPage } from "./page_shell.js";
import { dateOnly, getSite, putSite, reportSummary } from "./crm.js";
import { InstallPanel } from "./onboarding.js";
import { HoursForm } from "./hours_form.js";
import { WorkgroupsCard } from "./workgroups_admin.js";

// The server's own rules (chat_server/web/site_routes.py), checked here first
// so a typo is pointed at before the round trip.
const COLOR = /^#[0-9a-fA-F]{6}$/;
const DOMAIN = /^(\*\.)?[a-z0-9.-]{1,253}$/;

class SettingsPage {
  constructor(shell) {
    this.shell = shell;
    this.owner = shell.boot.agent.role === "owner";
    const q = (sel) => document.querySelector(sel);
    this.main = q("#settings-main");
    this.form = q("#settings-form");
    this.f = {
      name: q('[data-testid="settings-name"]'),
      greeting: q('[data-testid="settings-greeting"]'),
      locale: q('[data-testid="settings-locale"]'),
      color: q('[data-testid="settings-color"]'),
      picker: q('[data-testid="settings-color-picker"]'),
      domains: q('[data-testid="settings-domains"]'),
      prechat: q('[data-testid="settings-prechat-enabled"]'),
      pName: q('[data-testid="settings-prechat-name"]'),
      pEmail: q('[data-testid="settings-prechat-email"]'),
      pConsent: q('[data-testid="settings-prechat-consent"]'),
      mode: q('[data-testid="settings-routing-mode"]'),
      cap: q('[data-testid="settings-routing-cap"]'),
      offline: q('[data-testid="settings-offline-return"]'),
    };
    this.prechatOptions = q("#prechat-options");
    this.preview = q("#color-preview");
    this.error = q('[data-testid="settings-error"]');
    this.saved = q('[data-testid="settings-saved"]');
    this.saveBtn = q('[data-testid="settings-save"]');
    this.reports = q("#reports");
    this.site = null;
    this.report = null;
    this.dirty = false;
    this.saving = false;
  }

  start() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    this.form.addEventListener("input", (e) => {
      this.dirty = true;
      this.saved.hidden = true;
      if (e.target === this.f.picker) this.f.color.value = this.f.picker.value;
      if (e.target === this.f.color && COLOR.test(this.f.color.value.trim())) this.f.picker.value = this.f.color.value.trim().toLowerCase();
      this.renderDependent();
    });
    this.form.addEventListener("change", () => {
      this.dirty = true;
      this.renderDependent();
    });
    window.addEventListener("beforeunload", (e) => {
      if (this.dirty && this.owner) e.preventDefault();
    });
    onLocaleChange(() => this.renderReport());
    // Business hours, away message and email (hours_form.js): its own form and save.
    this.hours = new HoursForm(document.querySelector("#hours-form"), { owner: this.owner });
    this.hours.start();
    if (this.owner) new InstallPanel(document.querySelector("#install")).load();
    this.load();
  }

  async load() {
    const [site, report] = await Promise.allSettled([getSite(), reportSummary()]);
    if (site.status === "fulfilled") {
      this.site = site.value;
      this.fill(this.site);
      this.hours.fill(this.site);
    } else if (site.reason?.status !== 401) {
      this.showError(errorText(site.reason?.code));
    }
    setAttr(this.main, "aria-busy", "false");
    if (report.status === "fulfilled") this.report = report.value;
    else this.report = { failed: true };
    this.renderReport();
  }

  fill(site) {
    this.f.name.value = site.name || "";
    this.f.greeting.value = site.greeting || "";
    this.f.locale.value = site.locale === "en" ? "en" : "id";
    this.f.color.value = site.color || "#0f766e";
    this.f.picker.value = COLOR.test(site.color || "") ? site.color.toLowerCase() : "#0f766e";
    this.f.domains.value = (site.domains || []).join("\n");
    const p = site.prechat || {};
    this.f.prechat.checked = Boolean(p.enabled);
    const fields = p.fields || ["name", "email"];
    this.f.pName.checked = fields.includes("name");
    this.f.pEmail.checked = fields.includes("email");
    this.f.pConsent.checked = p.consent !== false;
    const routing = site.routing || {};
    this.f.mode.value = routing.mode || "manual";
    this.f.cap.value = String(routing.default_cap || 3);
    this.f.offline.value = routing.offline_return_minutes == null ? "" : String(routing.offline_return_minutes);
    this.dirty = false;
    this.renderDependent();
  }

  renderDependent() {
    const color = this.f.color.value.trim();
    this.preview.style.setProperty("--widget-color", COLOR.test(color) ? color : "#0f766e");
    setAttr(this.f.color, "aria-invalid", COLOR.test(color) ? null : "true");
    // Off: the options are disabled (not just dimmed), so they read as unavailable.
    this.prechatOptions.disabled = !this.f.prechat.checked;
  }

  showError(text) {
    this.error.hidden = !text;
    setText(this.error, text || "");
  }

  // The form as a PUT body, or a message saying what to fix.
  collect() {
    const name = this.f.name.value.trim();
    if (!name) return { problem: t("settings.nameRequired"), field: this.f.name };
    const color = this.f.color.value.trim();
    if (!COLOR.test(color)) return { problem: t("settings.colorInvalid"), field: this.f.color };
    const domains = [
      ...new Set(
        this.f.domains.value
          .split(/[\n,]+/)
          .map((d) => d.trim().toLowerCase())
          .filter(Boolean),
      ),
    ];
    if (!domains.length) return { problem: t("settings.domainsRequired"), field: this.f.domains };
    const bad = domains.find((d) => !DOMAIN.test(d));
    if (bad) return { problem: t("settings.domainInvalid", { d: bad }), field: this.f.domains };
    const cap = Number(this.f.cap.value);
    if (!Number.isInteger(cap) || cap < 1 || cap > 100) return { problem: t("settings.capInvalid"), field: this.f.cap };
    // Empty: offline agents keep their conversations.
    const offline = this.f.offline.value.trim() === "" ? null : Number(this.f.offline.value);
    if (offline !== null && (!Number.isInteger(offline) || offline < 1 || offline > 10080)) {
      return { problem: t("settings.offlineInvalid"), field: this.f.offline };
    }
    const fields = [];
    if (this.f.pName.checked) fields.push("name");
    if (this.f.pEmail.checked) fields.push("email");
    return {
      body: {
        name,
        greeting: this.f.greeting.value.trim(),
        locale: this.f.locale.value,
        color,
        domains,
        prechat: { enabled: this.f.prechat.checked, fields, consent: this.f.pConsent.checked },
        routing: { mode: this.f.mode.value, default_cap: cap, offline_return_minutes: offline },
      },
    };
  }

  async save() {
    if (!this.owner || this.saving) return;
    const { body, problem, field } = this.collect();
    if (problem) {
      this.showError(problem);
      field?.focus();
      return;
    }
    this.saving = true;
    this.saveBtn.disabled = true;
    setText(this.saveBtn, t("settings.saving"));
    this.showError("");
    this.saved.hidden = true;
    try {
      this.site = await putSite(body);
      this.fill(this.site);
      setText(this.saved, t("settings.saved"));
      this.saved.hidden = false;
      const brand = document.getElementById("site-name");
      if (brand) brand.textContent = this.site.name || "";
    } catch (err) {
      if (err.status !== 401) this.showError(err.code === "bad_request" && err.message ? err.message : errorText(err.code));
    } finally {
      this.saving = false;
      this.saveBtn.disabled = false;
      setText(this.saveBtn, t("settings.save"));
    }
  }

  renderReport() {
    const r = this.report;
    setAttr(this.reports, "aria-busy", r ? "false" : "true");
    if (!r) return;
    const set = (id, text, title) => {
      const el = this.reports.querySelector(`[data-testid="${id}"]`);
      setText(el, text);
      setAttr(el, "title", title || null);
    };
    if (r.failed) {
      for (const id of ["report-conversations", "report-resolved", "report-messages", "report-first-response", "report-csat", "report-faq"]) set(id, "—");
      setText(document.getElementById("reports-note"), t("reports.failed"));
      return;
    }
    const n = (x) => Number(x || 0).toLocaleString("id-ID");
    setText(document.getElementById("reports-range"), `${dateOnly(r.from)} – ${dateOnly(r.to)}`);
    set("report-conversations", n(r.conversations));
    const pct = r.conversations ? Math.round((100 * r.resolved) / r.conversations) : 0;
    set("report-resolved", r.conversations ? `${n(r.resolved)} (${pct}%)` : n(r.resolved));
    const msgs = r.messages || {};
    set(
      "report-messages",
      n((msgs.from_customers || 0) + (msgs.from_agents || 0)),
      t("reports.messagesSplit", { c: n(msgs.from_customers), a: n(msgs.from_agents) }),
    );
    const frt = r.first_response_seconds || {};
    set("report-first-response", frt.median == null ? "—" : duration(frt.median), t("reports.answered", { n: n(frt.answered) }));
    const csat = r.csat || {};
    set(
      "report-csat",
      csat.average == null ? "—" : `${Number(csat.average).toLocaleString("id-ID", { maximumFractionDigits: 2 })} / 5`,
      t("reports.responses", { n: n(csat.responses) }),
    );
    const faq = r.faq || {};
    set(
      "report-faq",
      t("reports.faqValue", { d: n(faq.deflected), h: n(faq.helpful) }),
      t("reports.faqHint", { q: n(faq.questions_with_suggestions), u: n(faq.used_by_agents), nh: n(faq.not_helpful) }),
    );
    setText(
      document.getElementById("reports-note"),
      t("reports.note", {
        m: t("reports.messagesSplit", { c: n(msgs.from_customers), a: n(msgs.from_agents) }),
        r: n(csat.responses),
      }),
    );
  }
}

// 75 → "1 mnt 15 dtk"; 4000 → "1 j 7 mnt".
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return t("dur.s", { s });
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? t("dur.ms", { m, s: s % 60 }) : t("dur.m", { m });
  const hrs = Math.floor(m / 60);
  return m % 60 ? t("dur.hm", { h: hrs, m: m % 60 }) : t("dur.h", { h: hrs });
}

const shell = startPage("nav.settings");
if (shell) {
  const page = new SettingsPage(shell);
  page.start();
  window.sapaSettings = page;
  const boot = shell.boot;
  new WorkgroupsCard(document.getElementById("workgroups"), {
    owner: boot.agent.role === "owner",
    agents: boot.agents || [],
  }).start();
}
