/*
 * Sapa shopper widget: the loader. A shop embeds it with one tag:
 *   <script src="https://chat.example/widget.js" data-site="SITE_KEY" async></script>
 * Optional: data-locale="id"|"en", data-color="#0f766e" (the launcher's colour before
 * the shop's settings are known; later visits remember the shop's own colour).
 *
 * This file is what every page view of the shop pays for, so it only draws the launcher
 * (with its unread badge and a preview of the last unread message) and keeps the page
 * API's queue. The chat app (widget/app.js, at a content-hashed URL that this file is
 * served with) loads when the shopper points at, focuses or opens the launcher, or at
 * once when a conversation is in progress or the panel was open before a reload: only
 * then does the widget open a session and a socket. Pure ASCII on purpose: a script
 * served without a charset takes the page's encoding.
 *
 * Page API, window.Sapa. Calls made before this script has loaded are queued and run
 * once the app has: `window.Sapa = window.Sapa || {q: []}; Sapa.q.push(['open']);`
 * `Sapa('open')` is the same as `Sapa.open()`. See widget/app.js for every call.
 */
(function () {
  'use strict';

  const script = document.currentScript ||
    document.querySelector('script[data-site][src*="widget.js"]');
  if (!script || !script.getAttribute('data-site')) return;
  if (window.Sapa && window.Sapa.__sapa) return; // loaded twice: the first copy wins

  const SITE = script.getAttribute('data-site');
  const ORIGIN = new URL(script.src, location.href).origin;
  const APP = new URL('__SAPA_APP_URL__', ORIGIN).href;
  const key = (k) => `sapa:${SITE}:${k}`;
  const read = (area, k) => {
    try { return JSON.parse(window[area].getItem(key(k))); } catch (e) { return null; }
  };
  const lang = (tag) => /^en/i.test(tag || '') ? 'en' : /^id/i.test(tag || '') ? 'id' : null;
  const LOCALE = lang(script.getAttribute('data-locale')) || lang(document.documentElement.lang) || 'id';
  const OPEN_LABEL = LOCALE === 'en' ? 'Open chat' : 'Buka chat';

  const STYLE = `:host{all:initial}*{box-sizing:border-box}
button{margin:0;padding:0;border:0;background:none;font:inherit;color:inherit;cursor:pointer}
[hidden]{display:none!important}
.root{--accent:#0f766e;--on-accent:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2937;-webkit-font-smoothing:antialiased}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;background:var(--accent);color:var(--on-accent);display:grid;place-items:center;box-shadow:0 6px 24px rgba(0,0,0,.22);transition:transform .18s}
.launcher:hover{transform:scale(1.06)}
.launcher:focus-visible{outline:3px solid var(--accent);outline-offset:3px;box-shadow:0 0 0 3px #fff,0 6px 24px rgba(0,0,0,.22)}
.launcher svg{width:28px;height:28px}.launcher .i-x svg{width:22px}
.launcher span{display:grid}.i-x,.open .i-chat{display:none!important}.open .i-x{display:grid!important}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#be123c;color:#fff;border:2px solid #fff;font-size:12px;font-weight:700;line-height:18px;text-align:center}
.preview{position:fixed;right:20px;bottom:92px;z-index:2147483000;max-width:min(300px,calc(100vw - 40px))}
.preview button{display:block;width:100%;padding:10px 14px;border-radius:14px 14px 4px 14px;background:#fff;color:#1f2937;text-align:left;box-shadow:0 6px 24px rgba(15,23,42,.18),0 0 0 1px rgba(15,23,42,.06)}
.preview button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.pv-who{display:block;font-size:12.5px;font-weight:700;color:#374151}
.pv-text{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere;line-height:1.4}
.open .preview{display:none}
@media (prefers-reduced-motion:reduce){.launcher{transition:none}}`;
  const ICON = (d, a) => `<svg viewBox="0 0 24 24" aria-hidden="true" ${a}><path d="${d}"/></svg>`;
  const HTML = `<div class="root"><div class="preview" aria-live="polite"><button type="button" data-testid="sapa-preview" hidden><span class="pv-who"></span><span class="pv-text"></span></button></div>
<button class="launcher" type="button" data-testid="sapa-launcher" aria-expanded="false" aria-haspopup="dialog">
<span class="i-chat">${ICON('M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4 21.5l4.6-2.2c1.1.3 2.2.4 3.4.4 5.5 0 10-3.8 10-8.5S17.5 3 12 3z', 'fill="currentColor"')}</span>
<span class="i-x">${ICON('M6 6l12 12M18 6L6 18', 'fill="none" stroke="currentColor" stroke-linecap="round" stroke-width="2.4"')}</span>
<span class="badge" data-testid="sapa-badge" hidden>0</span></button></div>`;

  // ------------------------------------------------------------- page API
  let ui = null, requested = false, asked = false;
  const early = window.Sapa && Array.isArray(window.Sapa.q) ? window.Sapa.q.slice() : [];
  const queued = [];
  const loader = {
    site: SITE, origin: ORIGIN, locale: script.getAttribute('data-locale'), queue: queued,
    host: null, root: null, launcher: null, wantOpen: read('sessionStorage', 'open') === true,
    app: null, // the app's API once it runs
    onLauncher() { loader.wantOpen = true; load(); }, // the app takes this over
    badge, preview
  };
  const WAKES = ['open', 'toggle', 'identify', 'reset'];

  function call(args) {
    args = Array.from(args || []);
    if (loader.app) return loader.app.apply(null, args);
    const name = args[0];
    if (name === 'identify' && alreadyIdentified(args[1])) return Promise.resolve(true);
    if (name === 'close') { loader.wantOpen = false; return; }
    let result;
    // Promise answers (identify) settle once the app has run the call.
    if (name === 'identify') result = new Promise((resolve) => { args.settle = resolve; });
    if (name === 'open' || name === 'toggle') loader.wantOpen = name === 'open' || !loader.wantOpen;
    queued.push(args);
    if (WAKES.includes(name)) load();
    return result;
  }

  // A logged-in shop calls identify on every page: once per token is enough (the app
  // remembers it), and that needs no app, session or socket.
  function alreadyIdentified(opts) {
    const done = read('localStorage', 'identified');
    return !!(opts && done && done.external_id === opts.external_id && done.token === read('localStorage', 'token'));
  }

  const api = function () { return call(arguments); };
  for (const name of ['open', 'close', 'toggle', 'on', 'off', 'identify', 'reset']) {
    api[name] = function () { return call([name, ...arguments]); };
  }
  api.__sapa = true;
  api.__loader = loader;
  api.q = { push() { for (const args of arguments) call(args); } };
  window.Sapa = api;
  early.forEach(call);
  // The help center's "chat with us" links to the shop with this hash: open the panel.
  if (location.hash === '#sapa-open') call(['open']);

  // ------------------------------------------------------------- launcher
  function mount() {
    const host = document.createElement('div');
    host.id = 'sapa-widget';
    const root = host.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style>${HTML}`; // static markup, no user data
    const q = (sel) => root.querySelector(sel);
    ui = { root: q('.root'), launcher: q('.launcher'), badge: q('.badge'), preview: q('.preview button') };
    Object.assign(loader, { host, root, rootEl: ui.root, launcher: ui.launcher, previewButton: ui.preview });
    const color = script.getAttribute('data-color') || read('localStorage', 'color');
    if (color && window.CSS && CSS.supports('color', color)) {
      ui.root.style.setProperty('--accent', color);
      const on = read('localStorage', 'onColor');
      if (on) ui.root.style.setProperty('--on-accent', on);
    }
    ui.launcher.setAttribute('aria-label', OPEN_LABEL);
    ui.launcher.addEventListener('click', () => loader.onLauncher());
    ui.preview.addEventListener('click', () => { loader.wantOpen = true; loader.onLauncher(true); });
    // Pointing at or focusing the launcher is the hint that chat is coming: fetch the app.
    for (const ev of ['pointerenter', 'focus', 'touchstart']) {
      ui.launcher.addEventListener(ev, load, { passive: true });
    }
    document.body.appendChild(host);
    // A conversation in progress must show its unread replies; an open panel stays open.
    // A reply email's link (#sapa_open=…) opens its conversation at once.
    if (/[#&]sapa_open=/.test(location.hash)) loader.wantOpen = true;
    if (loader.wantOpen || asked) load();
    else if (inProgress()) whenIdle(load);
  }

  function inProgress() {
    const outbox = read('localStorage', 'outbox');
    return (!!read('localStorage', 'live') && !!read('localStorage', 'token')) ||
      (Array.isArray(outbox) && outbox.length > 0);
  }

  function whenIdle(fn) {
    if (window.requestIdleCallback) requestIdleCallback(fn, { timeout: 2000 });
    else setTimeout(fn, 200);
  }

  function load() {
    asked = true;
    if (requested || !ui) return; // the app needs the launcher on the page first
    requested = true;
    const tag = document.createElement('script');
    tag.src = APP;
    tag.async = true;
    tag.onerror = () => { requested = false; }; // offline: the next hover or click tries again
    (document.head || document.body).appendChild(tag);
  }

  function badge(n) {
    if (!ui) return;
    ui.badge.textContent = n > 99 ? '99+' : String(n);
    ui.badge.hidden = !n;
  }

  // The last unread message while the panel is closed: who and the start of what.
  function preview(author, text) {
    if (!ui) return;
    ui.preview.hidden = !text;
    ui.preview.firstChild.textContent = author || '';
    ui.preview.lastChild.textContent = text ? String(text).slice(0, 240) : '';
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
