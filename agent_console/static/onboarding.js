// The Settings page's install panel (owners): the embed code with a copy
// button, the site key and id, the help center's address, and where the
// widget last connected from (GET /api/v1/site/install).

import { t, onLocaleChange } from "./i18n.js";
import { h, setText, setAttr } from "./dom.js";
import { api } from "./api.js";
import { dateTime } from "./crm.js";

export class InstallPanel {
  constructor(root) {
    this.root = root;
    this.data = null;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.snippet = q("install-snippet");
    this.copyBtn = q("install-copy");
    this.copied = q("install-copied");
    this.key = q("install-site-key");
    this.siteId = q("install-site-id");
    this.help = q("install-help");
    this.seen = q("install-seen");
    this.copyBtn.addEventListener("click", () => this.copy());
    this.q = q;
    q("rotate-api-token").addEventListener("click", () => this.rotate("api-token", "api_token", "keys.newToken"));
    q("rotate-identity-secret").addEventListener("click", () => this.rotate("identity-secret", "identity_secret", "keys.newSecret"));
    onLocaleChange(() => this.render());
  }

  async load() {
    try {
      this.data = await api("/api/v1/site/install");
    } catch {
      return;
    }
    this.root.hidden = false;
    this.render();
  }

  render() {
    const d = this.data;
    if (!d) return;
    setText(this.snippet, d.embed);
    setText(this.key, d.site_key);
    setText(this.siteId, d.site_id);
    setAttr(this.help, "href", d.help_url);
    setText(this.help, d.help_url);
    for (const lang of ["php", "node", "python"]) setText(this.q(`snippet-${lang}`), d.user_hash_snippets?.[lang] || "");
    // Each allowed domain: when the widget last connected from it, or not yet.
    const rows = (d.domains || []).map((domain) => {
      const hits = (d.origins || []).filter((o) => matches(o.origin, domain));
      if (!hits.length) {
        return h("li", { "data-testid": "install-seen-domain", "data-domain": domain, "data-state": "never", text: t("onboard.seenNever", { domain }) });
      }
      return h(
        "li",
        { "data-testid": "install-seen-domain", "data-domain": domain, "data-state": "seen" },
        ...hits.map((o) => h("div", { text: t("onboard.seenAt", { origin: o.origin, time: dateTime(o.last_seen_at) }) })),
      );
    });
    this.seen.replaceChildren(...rows);
  }

  // A new token or secret, shown once: the old one stops working at once.
  async rotate(path, field, label) {
    if (!confirm(t("keys.confirm"))) return;
    let done;
    try {
      done = await api(`/api/v1/site/${path}/rotate`, { method: "POST" });
    } catch (err) {
      setText(this.q("rotated-label"), err.message || err.code);
      this.q("rotated").hidden = false;
      return;
    }
    setText(this.q("rotated-label"), t(label));
    setText(this.q("rotated-value"), done[field]);
    this.q("rotated").hidden = false;
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.data?.embed || "");
      setText(this.copied, t("onboard.copied"));
    } catch {
      // Clipboard refused (permissions, insecure origin): select it for a manual copy.
      const range = document.createRange();
      range.selectNodeContents(this.snippet);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      setText(this.copied, t("onboard.copyFailed"));
    }
  }
}

function matches(origin, domain) {
  let host = "";
  try {
    host = new URL(origin).hostname.toLowerCase();
  } catch {
    return false;
  }
  const d = domain.toLowerCase();
  return d.startsWith("*.") ? host.endsWith(d.slice(1)) : host === d;
}
