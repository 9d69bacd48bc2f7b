// "Email transcript": the open conversation mailed to its customer's address
// (POST /api/v1/rooms/{id}/transcript, the server's transcript service). Feedback in
// a toast: sent to whom, no address known, or what went wrong.

import { t } from "./i18n.js";
import { h } from "./dom.js";
import { api } from "./api.js";

export class TranscriptButton {
  // roomOf() -> the open room or null; say(text) shows a toast.
  constructor(header, { roomOf, say }) {
    this.roomOf = roomOf;
    this.say = say;
    this.button = h("button", {
      type: "button",
      class: "btn btn--small",
      "data-testid": "transcript-btn",
      "data-i18n": "mailTranscript.send",
      text: t("mailTranscript.send"),
    });
    header.querySelector(".conv-header__actions").prepend(this.button);
    this.button.addEventListener("click", () => this.send());
  }

  async send() {
    const room = this.roomOf();
    if (!room || this.button.disabled) return;
    this.button.disabled = true;
    try {
      const { queued } = await api(`/api/v1/rooms/${encodeURIComponent(room.id)}/transcript`, { method: "POST" });
      const email = room.customer?.email;
      this.say(queued ? (email ? t("mailTranscript.sentTo", { email }) : t("mailTranscript.sent")) : t("mailTranscript.already"));
    } catch (err) {
      if (err.status === 401) return;
      this.say(err.code === "conflict" ? t("mailTranscript.noEmail") : t("mailTranscript.failed", { msg: err.message || err.code }));
    } finally {
      this.button.disabled = false;
    }
  }
}
