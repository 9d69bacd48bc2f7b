// Snooze: put the open conversation aside until a time, or until the shopper
// writes (`snooze {room_id, until}`; `until: null` for the latter). It leaves
// the open tabs for "Snoozed" and comes back by itself (the server's timer, or
// the shopper's message); "Wake now" brings it back at once (`unsnooze`).

import { t, clockTime } from "./i18n.js";
import { h, setText } from "./dom.js";

// Preset ends, computed in the agent's own time zone.
const PRESETS = {
  hour: () => new Date(Date.now() + 3600e3),
  hours3: () => new Date(Date.now() + 3 * 3600e3),
  tomorrow: () => atNine(1),
  week: () => atNine(((8 - new Date().getDay()) % 7) || 7), // next Monday, 09:00
  reply: () => null,
};

function atNine(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  d.setHours(9, 0, 0, 0);
  return d;
}

export class SnoozeForm {
  // send(type, extra) -> Promise (a room action); roomOf() -> the open room or null.
  constructor(header, { send, roomOf }) {
    this.send = send;
    this.roomOf = roomOf;
    this.button = h("button", {
      type: "button",
      class: "btn btn--small",
      "data-testid": "snooze-btn",
      "data-i18n": "snooze.open",
      "aria-expanded": "false",
      "aria-controls": "snooze-form",
      text: t("snooze.open"),
    });
    this.wake = h("button", {
      type: "button",
      class: "btn btn--small",
      "data-testid": "unsnooze-btn",
      "data-i18n": "snooze.wake",
      hidden: true,
      text: t("snooze.wake"),
    });
    this.pill = h("span", { class: "pill pill--snoozed", "data-testid": "snoozed-pill", hidden: true });
    this.preset = h(
      "select",
      {
        class: "select select--small",
        "data-testid": "snooze-preset",
        "data-i18n-aria-label": "snooze.until",
        "aria-label": t("snooze.until"),
      },
      ...[...Object.keys(PRESETS), "custom"].map((key) =>
        h("option", { value: key, "data-i18n": `snooze.${key}`, text: t(`snooze.${key}`) }),
      ),
    );
    this.custom = h("input", {
      type: "datetime-local",
      class: "input input--small",
      "data-testid": "snooze-custom",
      "data-i18n-aria-label": "snooze.custom",
      "aria-label": t("snooze.custom"),
      hidden: true,
    });
    const submit = h("button", {
      type: "submit",
      class: "btn btn--small btn--primary",
      "data-testid": "snooze-submit",
      "data-i18n": "snooze.submit",
      text: t("snooze.submit"),
    });
    this.form = h(
      "form",
      { class: "transfer snooze", id: "snooze-form", "data-testid": "snooze-form", hidden: true },
      this.preset,
      this.custom,
      submit,
    );
    const actions = header.querySelector(".conv-header__actions");
    actions.prepend(this.button, this.wake);
    header.querySelector(".conv-header__sub").append(this.pill);
    header.after(this.form);
    this.button.addEventListener("click", () => this.toggle(this.form.hidden));
    this.wake.addEventListener("click", () => this.send("unsnooze"));
    this.preset.addEventListener("change", () => {
      this.custom.hidden = this.preset.value !== "custom";
      if (!this.custom.hidden) this.custom.focus();
    });
    this.form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const until = this.until();
      if (until === undefined) return;
      await this.send("snooze", { until: until && until.toISOString() });
      this.toggle(false);
    });
  }

  // The chosen end: a Date, null (until the shopper writes), or undefined (none yet).
  until() {
    if (this.preset.value !== "custom") return PRESETS[this.preset.value]();
    const at = new Date(this.custom.value); // datetime-local: the agent's own time zone
    return Number.isNaN(at.getTime()) ? undefined : at;
  }

  toggle(open) {
    this.form.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.preset.focus();
  }

  // The open conversation changed (or another one opened).
  render(room) {
    const snoozed = Boolean(room?.snoozed);
    const canSnooze = room && room.kind !== "public" && room.status !== "resolved" && !snoozed;
    this.button.hidden = !canSnooze;
    this.wake.hidden = !snoozed;
    this.pill.hidden = !snoozed;
    if (snoozed) {
      setText(
        this.pill,
        room.snoozed_until ? t("snooze.pillUntil", { time: clockTime(room.snoozed_until) }) : t("snooze.pillReply"),
      );
    }
    if (!canSnooze && !this.form.hidden) this.toggle(false);
  }
}
