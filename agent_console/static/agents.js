// The team page (owners): GET /api/v1/team lists agents and open invitations;
// owners invite (POST /api/v1/agents/invitations), resend or revoke an
// invitation, change a role, deactivate or activate (PATCH /api/v1/agents/{id})
// and make password-reset links. A link is shown once, to copy (and emailed
// when the server sends mail). Owners also reset an agent's two-factor sign-in
// (POST /api/v1/agents/{id}/2fa/reset): the agent is signed out at once.
// Each agent's cap of open conversations (automatic assignment; empty: the
// site's default) comes from GET /api/v1/agents and is set with
// PATCH /api/v1/agents/{id} {"cap"}.

import { t, onLocaleChange } from "./i18n.js";
import { api } from "./api.js";
import { errorText, showToast } from "./shell.js";
import { startPage } from "./page_shell.js";

const q = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

class TeamPage {
  constructor(shell) {
    this.me = shell.boot.agent;
    this.main = q("#agents-main");
    this.rows = q("#agents-rows");
    this.invites = q('[data-testid="invitations"]');
    this.error = q('[data-testid="team-error"]');
    this.linkBox = q('[data-testid="link-box"]');
    this.data = null;
    this.caps = new Map();
  }

  start() {
    q("#invite-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.invite();
    });
    q('[data-testid="link-copy"]').addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(q('[data-testid="link-url"]').textContent);
        showToast(t("onboard.copied"));
      } catch {
        // The link stays on screen to copy by hand.
      }
    });
    const require = q('[data-testid="require-2fa"]');
    api("/api/v1/site/two-factor").then((d) => { require.checked = d.required; }, () => {});
    require.addEventListener("change", async () => {
      const done = await this.run(() => api("/api/v1/site/two-factor", { method: "PUT", body: { required: require.checked } }));
      if (!done) require.checked = !require.checked;
    });
    onLocaleChange(() => this.render());
    this.load();
  }

  async run(fn) {
    this.error.hidden = true;
    try {
      return await fn();
    } catch (err) {
      this.error.textContent = err.message || errorText(err.code);
      this.error.hidden = false;
      return null;
    }
  }

  async load() {
    const [data, agents] = await Promise.all([
      this.run(() => api("/api/v1/team")),
      api("/api/v1/agents").catch(() => null),
    ]);
    if (data) this.data = data;
    if (agents) this.caps = new Map(agents.items.map((a) => [a.id, a.cap]));
    this.main.setAttribute("aria-busy", "false");
    this.render();
  }

  showLink(label, link) {
    const emailed = link.emailed ? `${t("team.emailed", { email: link.email })} ` : "";
    q('[data-testid="link-label"]').textContent = emailed + t(label, { email: link.email });
    q('[data-testid="link-url"]').textContent = link.url;
    this.linkBox.hidden = false;
  }

  async invite() {
    const form = q("#invite-form");
    const body = { email: form.elements.email.value.trim(), role: form.elements.role.value };
    const link = await this.run(() => api("/api/v1/agents/invitations", { method: "POST", body }));
    if (!link) return;
    form.reset();
    this.showLink("team.inviteLink", link);
    this.load();
  }

  async patch(agent, body) {
    const done = await this.run(() => api(`/api/v1/agents/${encodeURIComponent(agent.id)}`, { method: "PATCH", body }));
    if (done) this.load();
  }

  render() {
    if (!this.data) return;
    this.rows.replaceChildren(...this.data.agents.map((a) => this.row(a)));
    this.invites.replaceChildren(...this.data.invitations.map((i) => this.invitation(i)));
  }

  row(a) {
    const tr = el("tr", { "data-testid": "agent-row", "data-email": a.email });
    const name = el("td");
    name.append(el("strong", {}, a.name), el("br"), el("span", { class: "muted small" }, a.email));
    const role = el("select", { class: "select select--small", "data-testid": "agent-role", "aria-label": t("team.role") });
    for (const r of ["agent", "owner"]) {
      const opt = el("option", { value: r }, t(`team.role.${r}`));
      opt.selected = a.role === r;
      role.append(opt);
    }
    role.disabled = !a.active;
    role.addEventListener("change", () => this.patch(a, { role: role.value }));
    const roleCell = el("td");
    roleCell.append(role);
    const status = el("td", { "data-testid": "agent-status" }, a.active ? t(`status.${a.status}`) : t("team.deactivated"));
    const cap = el("input", {
      type: "number", min: "1", max: "100", step: "1", class: "input input--small team-cap",
      "data-testid": "agent-cap", "aria-label": `${t("team.cap")}: ${a.name}`, placeholder: t("team.capDefault"),
    });
    cap.value = this.caps.get(a.id) ?? "";
    cap.disabled = !a.active;
    cap.addEventListener("change", async () => {
      const value = cap.value.trim() === "" ? null : Number(cap.value);
      const path = `/api/v1/agents/${encodeURIComponent(a.id)}`;
      const done = await this.run(() => api(path, { method: "PATCH", body: { cap: value } }));
      if (done) {
        this.caps.set(a.id, done.cap);
        showToast(t("team.capSaved"));
      } else {
        cap.value = this.caps.get(a.id) ?? "";
      }
    });
    const capCell = el("td");
    capCell.append(cap);
    const seen = el("td", {}, a.last_seen_at ? new Date(a.last_seen_at).toLocaleString() : "—");
    const twoFactor = el("td", { "data-testid": "agent-2fa" }, t(a.two_factor ? "team.on" : "team.off"));
    const actions = el("td");
    const toggle = el("button", { type: "button", class: "btn btn--small", "data-testid": a.active ? "agent-deactivate" : "agent-activate" },
      t(a.active ? "team.deactivate" : "team.activate"));
    toggle.addEventListener("click", () => {
      if (a.active && !confirm(t("team.confirmDeactivate", { name: a.name }))) return;
      this.patch(a, { active: !a.active });
    });
    actions.append(toggle);
    if (a.active) {
      const reset = el("button", { type: "button", class: "btn btn--small btn--ghost", "data-testid": "agent-reset" }, t("team.reset"));
      reset.addEventListener("click", async () => {
        const link = await this.run(() => api(`/api/v1/agents/${encodeURIComponent(a.id)}/password-reset`, { method: "POST" }));
        if (link) this.showLink("team.resetLink", link);
      });
      actions.append(" ", reset);
    }
    if (a.two_factor && a.id !== this.me.id) {
      const off = el("button", { type: "button", class: "btn btn--small btn--ghost", "data-testid": "agent-reset-2fa" }, t("team.reset2fa"));
      off.addEventListener("click", async () => {
        if (!confirm(t("team.confirmReset2fa", { name: a.name }))) return;
        const done = await this.run(() => api(`/api/v1/agents/${encodeURIComponent(a.id)}/2fa/reset`, { method: "POST" }));
        if (!done) return;
        showToast(t("team.reset2faDone", { name: a.name }));
        this.load();
      });
      actions.append(" ", off);
    }
    tr.append(name, roleCell, status, capCell, seen, twoFactor, actions);
    return tr;
  }

  invitation(i) {
    const li = el("li", { "data-testid": "invitation", "data-email": i.email });
    li.append(el("span", {}, `${i.email} · ${t(`team.role.${i.role}`)} · ${t("team.expires", { date: new Date(i.expires_at).toLocaleDateString() })} `));
    const path = `/api/v1/agents/invitations/${encodeURIComponent(i.invitation_id)}`;
    const resend = el("button", { type: "button", class: "link small", "data-testid": "invitation-resend" }, t("team.resend"));
    resend.addEventListener("click", async () => {
      const link = await this.run(() => api(`${path}/resend`, { method: "POST" }));
      if (link) this.showLink("team.inviteLink", link);
      this.load();
    });
    const revoke = el("button", { type: "button", class: "link small", "data-testid": "invitation-revoke" }, t("team.revoke"));
    revoke.addEventListener("click", async () => {
      await this.run(() => api(path, { method: "DELETE" }));
      this.load();
    });
    li.append(resend, " ", revoke);
    return li;
  }
}

const shell = startPage("team.title");
if (shell) new TeamPage(shell).start();
