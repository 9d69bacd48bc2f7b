// Transfer: hand the open conversation to a colleague with a note for them
// (`transfer {room_id, agent_id, note}`; the note is stored as a private note).
// The receiver's console says who handed it over and what the note says.

import { t } from "./i18n.js";
import { h, setText } from "./dom.js";

export class TransferForm {
  // send(agentId, note) -> Promise; roomOf() -> the open room or null.
  constructor(header, store, { send, roomOf }) {
    this.store = store;
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
    this.select.replaceChildren(
      ...choices.map((a) => h("option", { value: a.id, text: `${a.name}${a.status ? ` (${t(`status.${a.status}`)})` : ""}` })),
    );
    this.note.value = "";
    this.select.focus();
  }

  // The `transfer` event, to the receiver.
  static text(frame) {
    const who = frame.from?.name || "";
    return frame.note ? t("transfer.receivedNote", { name: who, note: frame.note }) : t("transfer.received", { name: who });
  }
}
