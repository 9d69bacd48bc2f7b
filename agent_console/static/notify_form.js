// Each agent's own choice of emails about waiting conversations (issue 16's agent
// notifications), on the account page: GET/PUT /api/v1/me/notifications.

import { t } from "./i18n.js";
import { setText } from "./dom.js";
import { errorText } from "./shell.js";
import { getNotifications, putNotifications } from "./crm.js";

export class NotifyForm {
  constructor(form) {
    this.form = form;
    this.select = form.querySelector('[data-testid="notify-minutes"]');
    this.saved = form.querySelector('[data-testid="notify-saved"]');
  }

  async start() {
    this.form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await putNotifications(Number(this.select.value));
        setText(this.saved, t("settings.saved"));
      } catch (err) {
        setText(this.saved, errorText(err?.code));
      }
      this.saved.hidden = false;
    });
    try {
      const { waiting_minutes: minutes } = await getNotifications();
      const known = [...this.select.options].some((o) => Number(o.value) === minutes);
      if (!known) this.select.append(new Option(String(minutes), String(minutes)));
      this.select.value = String(minutes);
    } catch (err) {
      /* the select keeps "never" */
    }
  }
}
