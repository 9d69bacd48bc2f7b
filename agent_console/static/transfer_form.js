// Transfer: hand the open conversation to a colleague with a note for them
// or a team (`transfer {room_id, agent_id | team_id, note}`; the note is stored as a
// private note).
// The receiver's console says who handed it over and what the note says.

import { t } from "./i18n.js";
import { h, setText } from "./dom.js";

export class TransferForm {
  // send(agentId | "team:ID", note) -> Promise; roomOf() -> the open room or null;
  // teams() -> the site's teams.
  constructor(header, store, { send, roomOf, teams = () => [] }) {
    this.store = store;
    this.teams = teams;
    this.send = send;
    this.roomOf = roomOf;
    this.button = h("button", {
      type: "button",
      class: "btn btn--small",
      "data-testid": "transfer-btn",
      "data-i18n": "transfer.open",
      "aria-expanded": "false",
      "aria-controls": "transfer-form",
      text: t("transfer.open"),
    });
    this.select = h("select", {
      class: "select select--small",
      "data-testid": "transfer-agent",
      "data-i18n-aria-label": "transfer.to",
      "aria-label": t("transfer.to"),
    });
    this.note = h("textarea", {
      class: "input",
      rows: "2",
      maxlength: "4000",
      "data-testid": "transfer-note",
      "data-i18n-placeholder": "transfer.note",
      "data-i18n-aria-label": "transfer.note",
      placeholder: t("transfer.note"),
      "aria-label": t("transfer.note"),
    });
    const submit = h("button", {
      type: "submit",
      class: "btn btn--small btn--primary",
      "data-testid": "transfer-submit",
      "data-i18n": "transfer.submit",
      text: t("transfer.submit"),
    });
    this.form = h(
      "form",
      { class: "transfer", id: "transfer-form", "data-testid": "transfer-form", hidden: true },
      this.select,
      this.note,
      submit,
    );
    header.querySelector(".conv-header__actions").prepend(this.button);
    header.after(this.form);
    this.button.addEventListener("click", () => this.toggle(this.form.hidden));
    this.form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!this.select.value) return;
      await this.send(this.select.value, this.note.value.trim() || null);
      this.toggle(false);
    });
  }

  toggle(open) {
    this.form.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const room = this.roomOf();
    const choices = [...this.store.agents.values()].filter(
      (a) => a.active !== false && a.id !== room?.assignee?.id,
    );
    const agents = choices.map((a) =>
      h("option", { value: a.id, text: `${a.name}${a.status ? ` (${t(`status.${a.status}`)})` : ""}` }),
    );
    // Teams: the conversation waits for one of the team's online agents (value "team:ID").
    const teams = this.teams().filter((x) => x.id !== room?.team?.id || room?.assignee);
    this.select.replaceChildren(
      ...agents,
      ...(teams.length
        ? [h("optgroup", { label: t("teams.title") }, ...teams.map((x) => h("option", { value: `team:${x.id}`, text: x.name })))]
        : []),
    );
    this.note.value = "";
    this.select.focus();
  }

  // The `transfer` event, to the receiver.
  static text(frame) {
    const who = frame.from?.name || "";
    if (frame.team) {
      const team = frame.team.name;
      return frame.note
        ? t("transfer.receivedTeamNote", { name: who, team, note: frame.note })
        : t("transfer.receivedTeam", { name: who, team });
    }
    return frame.note ? t("transfer.receivedNote", { name: who, note: frame.note }) : t("transfer.received", { name: who });
  }
}
