// The sidebar of the console's secondary pages (customers, settings): who is
// logged in, language, logout, and the unread count beside "Conversations".
// Like the FAQ page, these pages keep the agent's socket open, so an agent
// looking up a customer still shows as online to shoppers.

import { t, translate, toggleLocale } from "./i18n.js";
import * as api from "./api.js";
import { AgentSocket } from "./socket.js";
import { setTitleCount } from "./notify.js";
import { readBoot, fillIdentity, setNavUnread } from "./shell.js";

const UNREAD_REFRESH_MS = 800;

// Returns {boot, setTitle(text)}, or null after sending a logged-out visitor to
// the login page. The tab title is "Sapa · <titleKey's text>" until setTitle.
export function startPage(titleKey) {
  const boot = readBoot();
  translate(document);
  if (!boot || !boot.agent) {
    location.assign(api.LOGIN_URL);
    return null;
  }
  api.setCsrfToken(boot.csrf_token);
  fillIdentity(boot);

  let unreadTimer = null;
  let unread = 0;
  let custom = "";
  const title = () => `${t("app.title")} · ${custom || t(titleKey)}`;
  const refreshUnread = (delay = UNREAD_REFRESH_MS) => {
    clearTimeout(unreadTimer);
    unreadTimer = setTimeout(async () => {
      try {
        const rooms = await api.listRooms();
        unread = rooms.reduce((sum, r) => sum + (r.unread || 0), 0);
        setNavUnread(unread);
        setTitleCount(unread, title());
      } catch {
        // Only a badge.
      }
    }, delay);
  };
  const socket = new AgentSocket({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/agent`,
    onEvent: (frame) => {
      if (frame.type === "message" || frame.type === "room" || frame.type === "read") refreshUnread();
    },
    onWelcome: () => refreshUnread(0),
    onState: () => {},
    onAuthLost: (code) => location.assign(code === 4000 ? `${api.LOGIN_URL}?ended=1` : api.LOGIN_URL),
  });
  // Until two-factor is on (the site requires it) the server refuses the socket.
  if (!boot.must_enroll) socket.connect();
  setTitleCount(0, title());

  document.getElementById("locale-toggle")?.addEventListener("click", () => {
    toggleLocale();
    setTitleCount(unread, title());
  });
  document.querySelector('[data-testid="logout-btn"]')?.addEventListener("click", async () => {
    // Stop first: the server closes our sockets (4000) as the session ends.
    socket.stop();
    try {
      await api.logout();
    } catch {
      // Gone already; the login page is the right place either way.
    }
    location.assign(api.LOGIN_URL);
  });
  return {
    boot,
    setTitle(text) {
      custom = text || "";
      setTitleCount(unread, title());
    },
  };
}
