// Teams and labels in the console (docs/protocol.md, "Teams" and "Labels"): the site's
// lists, the inbox's team and label filters, and the open conversation's team and labels
// (add by name, made on the fly; remove with ×).

import { t } from "./i18n.js";
import { h, setText } from "./dom.js";
import { api } from "./api.js";

const NONE = "none";

export function listTeams() {
  return api("/api/v1/teams").then((d) => d.items || []);
}

export function listLabels() {
  return api("/api/v1/labels").then((d) => d.items || []);
}

// The conversation's labels become exactly these: existing ones by id, new ones by name.
export function setRoomLabels(roomId, labelIds, names = []) {
  return api(`/api/v1/rooms/${encodeURIComponent(roomId)}/labels`, {
    method: "PUT",
    body: { label_ids: labelIds, names },
  }).then((d) => d.labels || []);
}

// The site's teams and labels, loaded once and again when one is made on the fly.
export class Workgroups {
  constructor() {
    this.teams = [];
    this.labels = [];
    this.listeners = [];
  }

  async load() {
    try {
      [this.teams, this.labels] = await Promise.all([listTeams(), listLabels()]);
    } catch {
      return; // the console works without them
    }
    for (const fn of this.listeners) fn();
  }

  onChange(fn) {
    this.listeners.push(fn);
  }
}

// A label as a small coloured chip; `onRemove` adds the × button.
export function labelChip(label, onRemove) {
  const chip = h("span", { class: "label-chip", "data-testid": "label-chip", "data-label-id": label.id });
  chip.style.setProperty("--label", label.color || "#e5e7eb");
  chip.append(h("span", { text: label.name }));
  if (onRemove) {
    chip.append(
      h("button", {
        type: "button",
        class: "label-chip__x",
        "aria-label": t("labels.remove", { name: label.name }),
        text: "×",
        onclick: () => onRemove(label),
      }),
    );
  }
  return chip;
}

// The two selects above the inbox list; `matches(room)` is what the inbox shows.
export class InboxFilters {
  constructor(inboxRoot, groups, onChange) {
    this.groups = groups;
    this.team = h("select", {
      class: "select select--small",
      "data-testid": "inbox-team-filter",
      "aria-label": t("teams.filter"),
      "data-i18n-aria-label": "teams.filter",
      onchange: onChange,
    });
    this.label = h("select", {
      class: "select select--small",
      "data-testid": "inbox-label-filter",
      "aria-label": t("labels.filter"),
      "data-i18n-aria-label": "labels.filter",
      onchange: onChange,
    });
    this.root = h("div", { class: "inbox-filters", hidden: true }, this.team, this.label);
    inboxRoot.querySelector(".tabs").before(this.root);
    groups.onChange(() => this.fill());
  }

  fill() {
    const { teams, labels } = this.groups;
    const keep = (select, options) => {
      const value = select.value;
      select.replaceChildren(...options.map(([v, text]) => h("option", { value: v, text })));
      select.value = options.some(([v]) => v === value) ? value : "";
    };
    keep(this.team, [["", t("teams.all")], ...teams.map((x) => [x.id, x.name]), [NONE, t("teams.none")]]);
    keep(this.label, [["", t("labels.all")], ...labels.map((x) => [x.id, x.name])]);
    this.team.hidden = teams.length === 0;
    this.label.hidden = labels.length === 0;
    this.root.hidden = this.team.hidden && this.label.hidden;
  }

  matches(room) {
    const team = this.team.value;
    if (team === NONE && room.team) return false;
    if (team && team !== NONE && room.team?.id !== team) return false;
    const label = this.label.value;
    return !label || (room.labels || []).some((x) => x.id === label);
  }
}

// Under the open conversation's header: its team, its labels, and a box to add one.
export class LabelBar {
  constructor(header, groups, { roomOf, save, onError }) {
    this.groups = groups;
    this.roomOf = roomOf;
    this.save = save;
    this.onError = onError;
    this.team = h("span", { class: "pill pill--team", "data-testid": "conv-team", hidden: true });
    this.chips = h("span", { class: "label-chips", "data-testid": "conv-labels" });
    this.list = h("datalist", { id: "label-options" });
    this.input = h("input", {
      class: "input input--small label-add",
      "data-testid": "label-add",
      list: "label-options",
      maxlength: "60",
      placeholder: t("labels.add"),
      "data-i18n-placeholder": "labels.add",
      "aria-label": t("labels.add"),
      "data-i18n-aria-label": "labels.add",
    });
    this.form = h("form", { class: "label-form", autocomplete: "off" }, this.input, this.list);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.add(this.input.value);
    });
    this.root = h("div", { class: "label-bar", "data-testid": "label-bar" }, this.team, this.chips, this.form);
    header.querySelector(".conv-header__who").append(this.root);
    groups.onChange(() => this.render(this.roomOf()));
  }

  render(room) {
    this.root.hidden = !room;
    if (!room) return;
    this.team.hidden = !room.team;
    setText(this.team, room.team ? t("teams.pill", { name: room.team.name }) : "");
    const labels = room.labels || [];
    this.chips.replaceChildren(...labels.map((x) => labelChip(x, (gone) => this.remove(gone))));
    const have = new Set(labels.map((x) => x.id));
    this.list.replaceChildren(
      ...this.groups.labels.filter((x) => !have.has(x.id)).map((x) => h("option", { value: x.name })),
    );
  }

  async apply(ids, names) {
    const room = this.roomOf();
    if (!room) return;
    try {
      room.labels = await this.save(room.id, ids, names);
    } catch (err) {
      this.onError(err.code);
      return;
    }
    if (names.length) await this.groups.load();
    this.render(room);
  }

  add(text) {
    const name = text.trim();
    const room = this.roomOf();
    if (!name || !room) return;
    this.input.value = "";
    const ids = (room.labels || []).map((x) => x.id);
    const known = this.groups.labels.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (known) this.apply([...new Set([...ids, known.id])], []);
    else this.apply(ids, [name]);
  }

  remove(label) {
    const room = this.roomOf();
    if (!room) return;
    this.apply((room.labels || []).map((x) => x.id).filter((id) => id !== label.id), []);
  }
}
