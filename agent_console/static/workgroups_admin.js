// The settings page's Teams and Labels card: owners add, rename and delete teams and choose
// their members, and rename, recolour and delete labels; agents see the lists.

import { t } from "./i18n.js";
import { h, setText } from "./dom.js";
import { api } from "./api.js";
import { errorText } from "./shell.js";
import { labelChip, listLabels, listTeams } from "./workgroups.js";

export class WorkgroupsCard {
  constructor(root, { owner, agents }) {
    this.root = root;
    this.owner = owner;
    this.agents = agents.filter((a) => a.active !== false);
    this.teamsList = root.querySelector('[data-testid="teams-list"]');
    this.labelsList = root.querySelector('[data-testid="labels-list"]');
    this.status = root.querySelector('[data-testid="workgroups-status"]');
    const create = root.querySelector('[data-testid="team-create"]');
    create?.addEventListener("submit", (e) => {
      e.preventDefault();
      const input = create.querySelector("input");
      this.run(api("/api/v1/teams", { method: "POST", body: { name: input.value } }), () => {
        input.value = "";
      });
    });
  }

  async start() {
    try {
      const [teams, labels] = await Promise.all([listTeams(), listLabels()]);
      this.render(teams, labels);
    } catch (err) {
      setText(this.status, errorText(err?.code));
    }
  }

  // A change, then the lists again (or what went wrong).
  async run(request, after) {
    try {
      await request;
      after?.();
      setText(this.status, "");
    } catch (err) {
      setText(this.status, errorText(err?.code));
    }
    await this.start();
  }

  render(teams, labels) {
    this.teamsList.replaceChildren(...teams.map((team) => this.teamItem(team)));
    if (!teams.length) this.teamsList.append(h("li", { class: "muted small", text: t("teams.empty") }));
    this.labelsList.replaceChildren(...labels.map((label) => this.labelItem(label)));
    if (!labels.length) this.labelsList.append(h("li", { class: "muted small", text: t("labels.empty") }));
  }

  teamItem(team) {
    const path = `/api/v1/teams/${encodeURIComponent(team.id)}`;
    const item = h("li", { class: "workgroups-item", "data-testid": "team-item", "data-team-id": team.id });
    if (!this.owner) {
      const names = this.agents.filter((a) => team.members.includes(a.id)).map((a) => a.name);
      item.append(h("strong", { text: team.name }), h("span", { class: "muted small", text: names.join(", ") }));
      return item;
    }
    const name = h("input", { class: "input input--small", value: team.name, maxlength: "60", "aria-label": t("teams.name") });
    const boxes = this.agents.map((a) =>
      h("input", { type: "checkbox", value: a.id, checked: team.members.includes(a.id), "data-testid": "team-member" }),
    );
    const members = h(
      "fieldset",
      { class: "workgroups-members" },
      h("legend", { class: "sr-only", text: t("teams.members") }),
      ...this.agents.map((a, i) => h("label", {}, boxes[i], ` ${a.name}`)),
    );
    const save = h("button", { type: "button", class: "btn btn--small btn--primary", "data-testid": "team-save", text: t("teams.save") });
    save.addEventListener("click", () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      this.run(api(path, { method: "PATCH", body: { name: name.value, members: chosen } }));
    });
    const remove = h("button", { type: "button", class: "btn btn--small", "data-testid": "team-delete", text: t("teams.delete") });
    remove.addEventListener("click", () => this.run(api(path, { method: "DELETE" })));
    item.append(name, save, remove, members);
    return item;
  }

  labelItem(label) {
    const item = h("li", { class: "workgroups-item", "data-testid": "label-item" }, labelChip(label));
    if (!this.owner) return item;
    const path = `/api/v1/labels/${encodeURIComponent(label.id)}`;
    const color = h("input", { type: "color", value: label.color, "aria-label": t("labels.color") });
    color.addEventListener("change", () => this.run(api(path, { method: "PATCH", body: { color: color.value } })));
    const remove = h("button", { type: "button", class: "btn btn--small", text: t("teams.delete") });
    remove.addEventListener("click", () => this.run(api(path, { method: "DELETE" })));
    item.append(color, remove);
    return item;
  }
}
