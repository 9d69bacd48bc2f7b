// Business hours, the away message and the site's email settings (owners; agents read
// them): PUT /api/v1/site {business_hours, away_message, email}. The installation's mail
// servers (GET /api/v1/mail/settings) are shown read-only: they are set by its
// administrator (SAPA_SMTP_URL, SAPA_IMAP_URL, the webhook keys).

import { t } from "./i18n.js";
import { h, setText, setAttr } from "./dom.js";
import { api } from "./api.js";
import { errorText } from "./shell.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
// The server's own rules (chat_server/domain/business_hours.py), checked here first.
const TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d|24:00";
const RANGE = new RegExp(`^(${TIME})\\s*[-–]\\s*(${TIME})$`);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const OPEN_URL = /^https?:\/\/[^\s#]+$/;
const MAX_RANGES = 4;
const ZONES = ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Singapore", "Asia/Kuala_Lumpur", "UTC"];

const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

function zoneKnown(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export class HoursForm {
  constructor(form, { owner }) {
    this.form = form;
    this.owner = owner;
    const q = (id) => form.querySelector(`[data-testid="${id}"]`);
    this.f = {
      enabled: q("hours-enabled"),
      zone: q("hours-timezone"),
      reply: q("hours-reply-minutes"),
      holidays: q("hours-holidays"),
      awayId: q("away-id"),
      awayEn: q("away-en"),
      delay: q("mail-reply-delay"),
      capture: q("mail-capture-after"),
      openUrl: q("mail-open-url"),
    };
    this.days = {};
    const box = q("hours-days");
    for (const day of DAYS) {
      const input = h("input", {
        type: "text",
        class: "input mono",
        "data-testid": `hours-day-${day}`,
        spellcheck: "false",
        maxlength: "80",
        "data-i18n-placeholder": "hours.closed",
        placeholder: t("hours.closed"),
      });
      const label = h("span", { "data-i18n": `hours.day.${day}`, text: t(`hours.day.${day}`) });
      box.append(h("label", { class: "field hours-day" }, label, input));
      this.days[day] = input;
    }
    const list = form.querySelector("#hours-zones");
    const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    for (const zone of new Set([...ZONES, ...all])) list.append(h("option", { value: zone }));
    this.error = q("hours-error");
    this.saved = q("hours-saved");
    this.saveBtn = q("hours-save");
    this.status = q("mail-status");
  }

  start() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    this.form.addEventListener("input", () => {
      if (this.saved) this.saved.hidden = true;
    });
    if (this.status) this.loadStatus();
  }

  fill(site) {
    const bh = site.business_hours || {};
    this.f.enabled.checked = Boolean(bh.enabled);
    this.f.zone.value = bh.timezone || "Asia/Jakarta";
    this.f.reply.value = bh.reply_minutes == null ? "" : String(bh.reply_minutes);
    for (const day of DAYS) {
      this.days[day].value = ((bh.days || {})[day] || []).map(([a, b]) => `${a}-${b}`).join(", ");
    }
    this.f.holidays.value = (bh.holidays || []).join("\n");
    const away = site.away_message || {};
    this.f.awayId.value = away.id || "";
    this.f.awayEn.value = away.en || "";
    const mail = site.email || {};
    this.f.delay.value = String(mail.reply_delay_seconds ?? 30);
    this.f.capture.value = String(mail.capture_after_minutes ?? 0);
    this.f.openUrl.value = mail.open_url || "";
  }

  // The form as a PUT body, or what to fix and where.
  collect() {
    const problem = (key, field, vars) => ({ problem: t(key, vars), field });
    const zone = this.f.zone.value.trim();
    if (!zone || !zoneKnown(zone)) return problem("hours.zoneInvalid", this.f.zone);
    const days = {};
    for (const day of DAYS) {
      const parts = this.days[day].value.split(/[,;\n]+/).map((p) => p.trim()).filter(Boolean);
      if (parts.length > MAX_RANGES) return problem("hours.tooMany", this.days[day], { n: MAX_RANGES });
      const ranges = [];
      for (const part of parts) {
        const m = RANGE.exec(part);
        if (!m || minutes(m[1]) >= minutes(m[2])) {
          return problem("hours.rangeInvalid", this.days[day], { day: t(`hours.day.${day}`), range: part });
        }
        ranges.push([m[1], m[2]]);
      }
      days[day] = ranges;
    }
    const holidays = [...new Set(this.f.holidays.value.split(/[\s,]+/).filter(Boolean))];
    const badDay = holidays.find((d) => !DATE.test(d) || Number.isNaN(Date.parse(d)));
    if (badDay) return problem("hours.holidayInvalid", this.f.holidays, { d: badDay });
    const reply = this.f.reply.value.trim();
    const replyMinutes = reply === "" ? null : Number(reply);
    if (replyMinutes !== null && !(Number.isInteger(replyMinutes) && replyMinutes >= 1 && replyMinutes <= 10080)) {
      return problem("hours.replyInvalid", this.f.reply);
    }
    const number = (field, high) => {
      const n = Number(field.value);
      return field.value.trim() !== "" && Number.isInteger(n) && n >= 0 && n <= high ? n : null;
    };
    const delay = number(this.f.delay, 3600);
    if (delay === null) return problem("mailset.delayInvalid", this.f.delay);
    const capture = number(this.f.capture, 1440);
    if (capture === null) return problem("mailset.captureInvalid", this.f.capture);
    const openUrl = this.f.openUrl.value.trim();
    if (openUrl && !OPEN_URL.test(openUrl)) return problem("mailset.openUrlInvalid", this.f.openUrl);
    return {
      body: {
        business_hours: { enabled: this.f.enabled.checked, timezone: zone, reply_minutes: replyMinutes, days, holidays },
        away_message: { id: this.f.awayId.value.trim(), en: this.f.awayEn.value.trim() },
        email: { reply_delay_seconds: delay, capture_after_minutes: capture, open_url: openUrl || null },
      },
    };
  }

  showError(text, field) {
    for (const el of this.form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    this.error.hidden = !text;
    setText(this.error, text || "");
    if (field) {
      setAttr(field, "aria-invalid", "true");
      field.focus();
    }
  }

  // The page's own save writes the site and answers the site as it now is.
  async save() {
    if (!this.owner || this.saveBtn.disabled) return;
    const { body, problem, field } = this.collect();
    if (problem) return this.showError(problem, field);
    this.showError("");
    this.saveBtn.disabled = true;
    try {
      const site = await api("/api/v1/site", { method: "PUT", body });
      this.fill(site);
      setText(this.saved, t("settings.saved"));
      this.saved.hidden = false;
    } catch (err) {
      if (err.status !== 401) this.showError(err.code === "bad_request" && err.message ? err.message : errorText(err.code));
    } finally {
      this.saveBtn.disabled = false;
    }
  }

  async loadStatus() {
    let s;
    try {
      s = await api("/api/v1/mail/settings");
    } catch {
      return;
    }
    const server = (x) => (x ? `${x.host}:${x.port} (${x.security})` : t("mailset.off"));
    const rows = [
      ["mailset.smtp", server(s.outgoing.smtp)],
      ["mailset.from", s.outgoing.from || "—"],
      ["mailset.replyTo", s.outgoing.reply_to || "—"],
      ["mailset.imap", server(s.inbound.imap)],
      ...Object.entries(s.inbound.webhooks).map(([name, url]) => [`mailset.hook.${name}`, url || t("mailset.off")]),
    ];
    this.status.replaceChildren(
      ...rows.map(([key, value]) =>
        h("div", { class: "crm-fact" }, h("dt", { "data-i18n": key, text: t(key) }), h("dd", { class: "mono small", text: value })),
      ),
    );
  }
}
