/*
 * Sapa shopper widget. A shop embeds it with one tag:
 *   <script src="https://chat.example/widget.js" data-site="SITE_KEY" async></script>
 * Plain JS, no build step, no dependencies; speaks docs/protocol.md only.
 * The UI lives in an open Shadow DOM so the shop's CSS cannot reach it. The file is
 * pure ASCII on purpose: a script served without a charset takes the page's encoding.
 */
(function () {
  'use strict';

  // currentScript is only set while this file first runs, so read it now.
  const script = document.currentScript ||
    document.querySelector('script[data-site][src*="widget.js"]');
  if (!script || !script.getAttribute('data-site')) return;
  if (window.Sapa && window.Sapa.__sapa) return; // loaded twice: the first copy wins

  const SITE = script.getAttribute('data-site');
  const ORIGIN = new URL(script.src, location.href).origin;
  const WS_URL = ORIGIN.replace(/^http/, 'ws') + '/ws/widget';
  const MAX_BODY = 4000;
  const MAX_OUTBOX = 50; // localStorage is small and shared with the shop
  // Resending cannot fix these, so such a message is shown as failed instead.
  const PERMANENT = ['bad_request', 'too_large', 'forbidden', 'not_found'];

  const STRINGS = {
    id: {
      open: 'Buka chat', close: 'Tutup chat', placeholder: 'Tulis pesan\u2026', send: 'Kirim',
      online: 'Kami sedang online', away: 'Kami akan membalas secepatnya', agent: 'Agen',
      typing: 'Kak {name} sedang mengetik\u2026', greeting: 'Halo! Ada yang bisa kami bantu?',
      connecting: 'Menghubungkan\u2026', connected: 'Terhubung',
      reconnecting: 'Koneksi terputus. Menghubungkan ulang\u2026',
      offline: 'Kamu sedang offline. Pesan dikirim saat tersambung lagi.',
      error: 'Chat tidak tersedia di halaman ini.', notFound: 'Chat tidak ditemukan untuk toko ini.',
      sending: 'Mengirim\u2026', sent: 'Terkirim', failed: 'Gagal terkirim',
      rate: 'Percakapan selesai. Bagaimana pelayanan kami?', star: '{n} bintang',
      thanks: 'Terima kasih atas penilaianmu!', powered: 'Didukung oleh Sapa',
      // FAQ: live answers while typing, suggestion cards while waiting, the help center
      faqLive: 'Mungkin membantu:', faqHide: 'Sembunyikan saran', faqCard: 'Mungkin ini membantu',
      faqAsk: 'Apakah jawaban ini membantu?', faqYes: 'Membantu \u{1F44D}', faqNo: 'Tidak \u{1F44E}',
      faqThanksYes: 'Terima kasih! Senang bisa membantu. Masih ada pertanyaan? Tulis saja di sini.',
      faqThanksNo: 'Terima kasih! Tim kami akan segera membalas.', help: 'Pusat bantuan'
    },
    en: {
      open: 'Open chat', close: 'Close chat', placeholder: 'Write a message\u2026', send: 'Send',
      online: 'We are online', away: 'We will reply as soon as we can', agent: 'Agent',
      typing: '{name} is typing\u2026', greeting: 'Hi! How can we help?',
      connecting: 'Connecting\u2026', connected: 'Connected',
      reconnecting: 'Connection lost. Reconnecting\u2026',
      offline: 'You are offline. Messages go out once you are back.',
      error: 'Chat is not available on this page.', notFound: 'Chat was not found for this shop.',
      sending: 'Sending\u2026', sent: 'Sent', failed: 'Not sent',
      rate: 'Conversation resolved. How did we do?', star: '{n} stars',
      thanks: 'Thanks for your rating!', powered: 'Powered by Sapa',
      faqLive: 'This might help:', faqHide: 'Hide suggestions', faqCard: 'These might help',
      faqAsk: 'Did this answer help?', faqYes: 'Helpful \u{1F44D}', faqNo: 'Not helpful \u{1F44E}',
      faqThanksYes: 'Thank you! Glad we could help. Anything else? Just write here.',
      faqThanksNo: 'Thank you! Our team will reply soon.', help: 'Help center'
    }
  };

  const svg = (box, body, attrs) =>
    `<svg viewBox="0 0 ${box} ${box}" aria-hidden="true" ${attrs}>${body}</svg>`;
  const LINE = 'fill="none" stroke="currentColor" stroke-linecap="round" stroke-linejoin="round"';
  const ICONS = {
    chat: svg(24, '<path d="M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4 21.5l4.6-2.2c1.1.3 2.2.4 3.4.4 5.5 0 10-3.8 10-8.5S17.5 3 12 3z"/>', 'fill="currentColor"'),
    x: svg(24, '<path d="M6 6l12 12M18 6L6 18"/>', LINE + ' stroke-width="2.4"'),
    down: svg(24, '<path d="M6 9l6 6 6-6"/>', LINE + ' stroke-width="2.4"'),
    send: svg(24, '<path d="M3.4 20.4l17.4-7.5a1 1 0 000-1.8L3.4 3.6a1 1 0 00-1.4 1.2L4.3 12l-2.3 7.2a1 1 0 001.4 1.2z"/>', 'fill="currentColor"'),
    sending: svg(16, '<circle cx="8" cy="8" r="6"/><path d="M8 4.5V8l2.3 1.5"/>', LINE + ' stroke-width="1.6"'),
    sent: svg(16, '<path d="M3 8.5l3.2 3L13 4.5"/>', LINE + ' stroke-width="1.8"'),
    failed: svg(16, '<circle cx="8" cy="8" r="6"/><path d="M8 4.8v3.8M8 11.2v.1"/>', LINE + ' stroke-width="1.6"'),
    faq: svg(16, '<circle cx="8" cy="8" r="6.2"/><path d="M6.2 6.3a1.9 1.9 0 113.2 1.4c-.8.5-1.4.9-1.4 1.8M8 11.5v.1"/>', LINE + ' stroke-width="1.5"'),
    bulb: svg(24, '<path d="M9 18h6M10 21h4M12 3a6 6 0 00-3.6 10.8c.7.6 1.1 1.3 1.1 2.2h5c0-.9.4-1.6 1.1-2.2A6 6 0 0012 3z"/>', LINE + ' stroke-width="1.9"')
  };

  const STYLE = `
:host{all:initial}
*{box-sizing:border-box}
button,textarea{margin:0;padding:0;border:0;background:none;font:inherit;color:inherit}
button{cursor:pointer}
button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
[hidden]{display:none!important}
.root{--accent:#0f766e;--on-accent:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji";color:#1f2937;-webkit-font-smoothing:antialiased}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;background:var(--accent);color:var(--on-accent);display:grid;place-items:center;box-shadow:0 6px 24px rgba(0,0,0,.22);transition:transform .18s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:28px;height:28px}.launcher .i-x svg{width:22px}
.launcher span{display:grid}.i-x,.open .i-chat{display:none!important}.open .i-x{display:grid!important}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#e11d48;color:#fff;border:2px solid #fff;font-size:12px;font-weight:700;line-height:18px;text-align:center}
.panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:372px;height:min(640px,calc(100vh - 116px));display:none;flex-direction:column;overflow:hidden;border-radius:16px;background:#fff;box-shadow:0 12px 48px rgba(15,23,42,.22),0 0 0 1px rgba(15,23,42,.06);animation:pop .2s ease-out}
.open .panel{display:flex}
@keyframes pop{from{opacity:0;transform:translateY(12px) scale(.98)}}
header{display:flex;align-items:center;gap:12px;padding:16px 14px 16px 18px;background:var(--accent);color:var(--on-accent)}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;display:grid;place-items:center;background:rgba(255,255,255,.22);font-weight:700;font-size:17px}
.title{flex:1;min-width:0}.name{font-weight:700;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.presence{display:flex;align-items:center;gap:6px;font-size:12.5px;opacity:.92}
.dot{width:8px;height:8px;border-radius:50%;background:#cbd5e1;box-shadow:0 0 0 2px rgba(255,255,255,.35)}.dot.on{background:#22c55e}
.hbtn{width:36px;height:36px;border-radius:50%;display:grid;place-items:center}.hbtn:hover{background:rgba(255,255,255,.16)}.hbtn svg{width:22px}
.status{padding:6px 14px;font-size:12.5px;text-align:center;background:#fef3c7;color:#92400e}
.status[data-state=connected]{display:none}.status[data-state=error]{background:#fee2e2;color:#b91c1c}
.body{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f6f7f9;display:flex;flex-direction:column;overscroll-behavior:contain}
.list{display:flex;flex-direction:column}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:82%;margin-top:10px}
.greet{margin-top:0}
.own{align-self:flex-end;align-items:flex-end}
.author{font-size:12px;color:#6b7280;margin:0 4px 3px}
.bubble{padding:9px 13px;border-radius:18px 18px 18px 5px;background:#fff;box-shadow:0 1px 2px rgba(15,23,42,.08);white-space:pre-wrap;overflow-wrap:anywhere}
.own .bubble{background:var(--accent);color:var(--on-accent);border-radius:18px 18px 5px 18px}
.own[data-state=sending] .bubble{opacity:.75}.own[data-state=failed] .bubble{background:#fecaca;color:#7f1d1d}
.meta{display:flex;align-items:center;gap:4px;margin:3px 6px 0;font-size:11px;color:#9ca3af}
.meta span{display:inline-flex}.meta svg{width:14px;height:14px}
.own[data-state=sent] .meta span{color:var(--accent)}.own[data-state=failed] .meta{color:#dc2626}
.event{align-self:center;align-items:center;max-width:92%;margin:12px 0 2px;padding:3px 12px;border-radius:999px;background:#eceef2;color:#6b7280;font-size:12px;text-align:center;white-space:pre-wrap}
.typing{display:flex;align-items:center;gap:8px;padding:4px 18px 6px;font-size:12.5px;color:#6b7280;background:#f6f7f9}
.dots{display:inline-flex;gap:3px}.dots i{width:5px;height:5px;border-radius:50%;background:#9ca3af;animation:blink 1.2s infinite}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes blink{40%{opacity:1}0%,80%,100%{opacity:.3}}
.rating{align-self:center;margin:14px 0 4px;padding:12px 16px;border-radius:12px;background:#fff;box-shadow:0 1px 3px rgba(15,23,42,.1);text-align:center;font-size:13px}
.stars{display:flex;justify-content:center;gap:4px;margin-top:6px}.stars button{font-size:24px;line-height:1;color:#d1d5db;padding:2px}
.stars:hover button{color:#f59e0b}.stars button:hover~button{color:#d1d5db}
.composer{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 10px 16px;border-top:1px solid #eceef2;background:#fff}
.composer:focus-within{box-shadow:inset 0 2px 0 -1px var(--accent)}
textarea{flex:1;min-height:38px;max-height:120px;padding:8px 0;outline:0;resize:none;line-height:1.45;font-size:14px}
textarea::placeholder{color:#9ca3af}
.sendbtn{flex:none;width:38px;height:38px;border-radius:50%;display:grid;place-items:center;background:var(--accent);color:var(--on-accent);transition:opacity .15s}
.sendbtn svg{width:18px;height:18px}.sendbtn:disabled{opacity:.35;cursor:default}
.foot{display:flex;justify-content:center;gap:6px;padding:2px 0 8px;font-size:11px;color:#9ca3af;background:#fff}
.foot a{color:#6b7280;text-decoration:none;border-radius:3px}.foot a:hover{color:var(--accent);text-decoration:underline}
a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
/* FAQ: the live list above the input, questions that expand (.qa), cards after messages */
.faq{flex:none;max-height:min(42%,260px);overflow-y:auto;padding:6px 8px 4px;border-top:1px solid #eceef2;background:#fff;overscroll-behavior:contain}
.faq-head{display:flex;align-items:center;justify-content:space-between;padding:0 0 2px 8px;font-size:12px;font-weight:600;color:#6b7280}
.faq-hide{width:26px;height:26px;border-radius:50%;display:grid;place-items:center;color:#9ca3af}.faq-hide:hover{background:#f3f4f6;color:#4b5563}.faq-hide svg{width:13px}
.qa-q{display:flex;align-items:flex-start;gap:8px;width:100%;padding:6px 8px;border-radius:8px;text-align:left;font-size:13.5px;line-height:1.35;color:#111827}
.qa-q:hover{background:#f3f4f6}.qa-q svg{flex:none;width:16px;height:16px;margin-top:1px}
.qa-q .ic{display:grid;color:var(--accent)}.qa-q .qt{flex:1;min-width:0;overflow-wrap:anywhere}
.qa-q .chev{display:grid;color:#9ca3af;transition:transform .15s}.qa-q[aria-expanded=true] .chev{transform:rotate(180deg)}
.qa-q[aria-expanded=true] .qt{font-weight:600}
.qa-a{margin:0 8px 8px 32px;font-size:13px;line-height:1.5;color:#374151;overflow-wrap:anywhere}
.answer p{margin:0 0 6px}.answer p:last-child{margin-bottom:0}.answer ul,.answer ol{margin:4px 0 6px;padding-left:20px}
.answer a{color:var(--accent);text-decoration:underline}
.faqcard{align-self:flex-start;width:88%;margin-top:10px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;box-shadow:0 1px 2px rgba(15,23,42,.06);overflow:hidden}
.faqcard-head{display:flex;align-items:center;gap:7px;padding:8px 12px;font-size:12.5px;font-weight:600;color:var(--accent);background:#f8fafc;background:color-mix(in srgb,var(--accent) 8%,#fff)}
.faqcard-head svg{width:16px;height:16px}
.faqcard .qa{padding:2px 4px;border-top:1px solid #f1f2f4}.faqcard-head+.qa{border-top:0}
.faqcard.solved .qa:not(.helped){display:none}
.fb{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:10px;font-size:12px;color:#6b7280}.fb span{flex-basis:100%}
.fb button{padding:5px 12px;border-radius:999px;border:1px solid #d1d5db;background:#fff;font-size:12.5px;color:#374151}
.fb button:hover{border-color:var(--accent);color:var(--accent)}.fb button:disabled{opacity:.5;cursor:default}
.fb-done{margin:0 8px 8px 32px;font-size:12.5px;color:#6b7280}.helped .fb-done{color:#047857}
@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0;animation:none}.open .launcher{display:none}textarea{font-size:16px}}
@media (prefers-reduced-motion:reduce){.panel,.dots i{animation:none}.qa-q .chev{transition:none}}`;

  const HTML = `<div class="root">
<button class="launcher" type="button" data-testid="sapa-launcher" aria-expanded="false">
<span class="i-chat">${ICONS.chat}</span><span class="i-x">${ICONS.x}</span>
<span class="badge" data-testid="sapa-badge" hidden>0</span></button>
<section class="panel" data-testid="sapa-panel" role="dialog">
<header><div class="avatar" aria-hidden="true"></div><div class="title"><div class="name"></div>
<div class="presence"><span class="dot"></span><span class="ptext"></span></div></div>
<button class="hbtn" type="button">${ICONS.down}</button></header>
<div class="status" data-testid="sapa-status" role="status" data-state="connecting"></div>
<div class="body"><div class="msg greet" data-testid="sapa-greeting"><div class="author"></div><div class="bubble"></div></div>
<div class="list" data-testid="sapa-messages" role="log" aria-live="polite"></div>
<div class="rating" data-testid="sapa-rating" hidden><div class="rtext"></div><div class="stars"></div></div></div>
<div class="typing" data-testid="sapa-typing" hidden><span class="dots"><i></i><i></i><i></i></span><span class="ttext"></span></div>
<div class="faq" data-testid="sapa-faq-live" role="region" hidden><div class="faq-head"><span class="faq-label"></span>
<button class="faq-hide" type="button">${ICONS.x}</button></div><div class="faq-items"></div></div>
<form class="composer"><textarea data-testid="sapa-input" rows="1" maxlength="${MAX_BODY}"></textarea>
<button class="sendbtn" type="submit" data-testid="sapa-send" disabled>${ICONS.send}</button></form>
<div class="foot"><a class="help" data-testid="sapa-help-link" target="_blank" rel="noopener"></a>
<span aria-hidden="true">&middot;</span><span class="powered"></span></div></section></div>`;

  // ---------------------------------------------------------------- storage
  // localStorage throws in some private modes and sandboxes; chat must still work there.
  const memory = {};
  const store = {
    get(k) {
      let raw = memory[k];
      try { raw = localStorage.getItem(`sapa:${SITE}:${k}`); } catch (e) { /* memory only */ }
      try { return raw == null ? null : JSON.parse(raw); } catch (e) { return null; }
    },
    set(k, v) {
      memory[k] = JSON.stringify(v);
      try { localStorage.setItem(`sapa:${SITE}:${k}`, memory[k]); } catch (e) { /* memory only */ }
    },
    del(k) {
      delete memory[k];
      try { localStorage.removeItem(`sapa:${SITE}:${k}`); } catch (e) { /* memory only */ }
    }
  };

  // ------------------------------------------------------------------ state
  const state = {
    token: store.get('token'), customerId: null, config: {}, locale: 'id',
    roomId: null, room: null,
    seq: 0,      // everything up to here is held: the resume point for `sync`
    maxSeq: 0,   // highest seq seen at all, for `read`
    lastRead: 0, synced: false, historyLoaded: false,
    messages: {}, pendingEls: {}, inflight: {}, outbox: loadOutbox(),
    isOpen: false, unread: 0, conn: 'connecting', welcomed: false, ready: false,
    hasSession: false, stopped: false
  };
  // FAQ answers: the live list above the input while typing, and the cards shown after
  // the shopper's messages. Cards are not stored by the server, so they live here (across reconnects).
  const faq = {
    timer: 0, seq: 0, // the newest search; an answer to any older one is dropped
    asked: '',        // the query of that search: unchanged input is not asked again
    off: false,       // the server refused faq_search on this socket
    cards: {}         // for_message_id -> {items, feedback: {faq_id: bool}, node}
  };
  const listeners = {};
  let ui = null;
  let ws = null, starting = false, attempt = 0, retryTimer = 0, refSeq = 0, requests = {};
  let heartbeat = 0, deadline = 0, typingOut = false, typingTimer = 0, typingInTimer = 0;

  function loadOutbox() {
    const list = store.get('outbox');
    return Array.isArray(list) ? list.filter((e) => e && e.client_msg_id && e.body) : [];
  }
  function saveOutbox() {
    if (state.outbox.length) store.set('outbox', state.outbox); else store.del('outbox');
  }

  // ------------------------------------------------------------------- i18n
  function langOf(tag) {
    tag = String(tag || '').toLowerCase();
    return tag.startsWith('en') ? 'en' : tag.startsWith('id') ? 'id' : null;
  }
  function pickLocale() {
    return langOf(script.getAttribute('data-locale')) || langOf(document.documentElement.lang) ||
      langOf(state.config.locale) || 'id';
  }
  function t(key, vars) {
    const s = STRINGS[state.locale][key] || key;
    return s.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? vars[k] : ''));
  }

  // --------------------------------------------------------------------- UI
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text; // user data only ever goes through textContent
    return node;
  }

  function mount() {
    const host = el('div');
    host.id = 'sapa-widget';
    const root = host.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style>${HTML}`; // static markup, no user data
    const q = (sel) => root.querySelector(sel);
    ui = {
      root: q('.root'), launcher: q('.launcher'), badge: q('.badge'), panel: q('.panel'),
      avatar: q('.avatar'), name: q('.name'), dot: q('.dot'), ptext: q('.ptext'), closeBtn: q('.hbtn'),
      status: q('.status'), body: q('.body'), greetAuthor: q('.greet .author'), greet: q('.greet .bubble'),
      list: q('.list'), rating: q('.rating'), rtext: q('.rtext'), stars: q('.stars'), typing: q('.typing'),
      ttext: q('.ttext'), form: q('form'), input: q('textarea'), send: q('.sendbtn'),
      faq: q('.faq'), faqLabel: q('.faq-label'), faqHide: q('.faq-hide'), faqItems: q('.faq-items'),
      help: q('.help'), powered: q('.powered')
    };
    bindUi();
    document.body.appendChild(host);
    applyConfig();
    state.outbox.forEach(renderPending);
    setUnread(state.unread);
    if (state.isOpen) { state.isOpen = false; open(); }
  }

  function bindUi() {
    ui.launcher.addEventListener('click', () => setOpen(!state.isOpen));
    ui.closeBtn.addEventListener('click', close);
    ui.form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
    ui.input.addEventListener('keydown', (e) => {
      // isComposing / 229: this Enter confirms an IME candidate and must not send.
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      submit();
    });
    ui.input.addEventListener('input', onInput);
    ui.panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
    ui.faqHide.addEventListener('click', () => { ui.faq.hidden = true; ui.input.focus(); });
    for (let n = 1; n <= 5; n++) {
      const b = el('button', null, '\u2605');
      b.type = 'button';
      b.dataset.score = n;
      b.addEventListener('click', () => rate(n));
      ui.stars.appendChild(b);
    }
  }

  // Labels are re-applied whenever the config (and so maybe the locale) arrives.
  function applyConfig() {
    state.locale = pickLocale();
    if (!ui) return;
    const cfg = state.config;
    const siteName = cfg.site_name || 'Chat';
    ui.name.textContent = ui.greetAuthor.textContent = siteName;
    ui.avatar.textContent = siteName.trim().charAt(0).toUpperCase();
    ui.greet.textContent = cfg.greeting || t('greeting');
    ui.panel.setAttribute('aria-label', siteName);
    ui.launcher.setAttribute('aria-label', t(state.isOpen ? 'close' : 'open'));
    ui.closeBtn.setAttribute('aria-label', t('close'));
    ui.input.setAttribute('placeholder', t('placeholder'));
    ui.send.setAttribute('aria-label', t('send'));
    ui.rtext.textContent = t('rate');
    for (const b of ui.stars.children) b.setAttribute('aria-label', t('star', { n: b.dataset.score }));
    ui.faq.setAttribute('aria-label', t('faqLive'));
    ui.faqLabel.textContent = t('faqLive');
    ui.faqHide.setAttribute('aria-label', t('faqHide'));
    ui.help.textContent = t('help');
    ui.help.href = `${ORIGIN}/help/${encodeURIComponent(SITE)}`;
    ui.powered.textContent = t('powered');
    setAccent(cfg.color);
    setPresence(cfg.agents_online);
    setConn(state.conn, state.conn === 'error' ? ui.status.textContent : null);
  }

  function setAccent(color) {
    if (!color || !window.CSS || !CSS.supports('color', color)) return;
    ui.root.style.setProperty('--accent', color);
    ui.root.style.setProperty('--on-accent', isLight(color) ? '#111827' : '#fff');
  }

  // Readable text on the accent; only #rgb / #rrggbb are judged, anything else keeps white.
  function isLight(color) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
    if (!m) return false;
    const hex = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
    const lin = [0, 2, 4].map((i) => {
      const c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] > 0.45;
  }

  function setPresence(online) {
    state.config.agents_online = online;
    if (!ui) return;
    const on = online === true || Number(online) > 0;
    ui.dot.classList.toggle('on', on);
    ui.ptext.textContent = t(on ? 'online' : 'away');
  }

  function setConn(conn, text) {
    state.conn = conn;
    if (!ui) return;
    ui.status.dataset.state = conn;
    ui.status.textContent = text || t(conn);
  }

  function setUnread(n) {
    state.unread = n;
    if (!ui) return;
    ui.badge.textContent = n > 99 ? '99+' : String(n);
    ui.badge.hidden = !n;
  }

  function hhmm(iso) {
    let d = new Date(iso || Date.now());
    if (isNaN(d)) d = new Date();
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }

  const isOwn = (m) => !!m.author && m.author.kind === 'customer';

  function buildMessage(m) {
    const node = el('div', 'msg');
    node.dataset.testid = 'sapa-message';
    node.dataset.authorKind = m.kind === 'event' ? 'system' : (m.author && m.author.kind) || 'system';
    if (m.kind === 'event') {
      node.classList.add('event');
      node.textContent = `${m.body} \u00b7 ${hhmm(m.created_at)}`;
      return node;
    }
    if (isOwn(m)) node.classList.add('own');
    else node.appendChild(el('div', 'author', (m.author && m.author.name) || t('agent')));
    node.appendChild(el('div', 'bubble', m.body));
    const meta = node.appendChild(el('div', 'meta'));
    const time = meta.appendChild(el('time', null, hhmm(m.created_at)));
    if (m.created_at) time.dateTime = m.created_at;
    if (isOwn(m)) meta.appendChild(el('span'));
    return node;
  }

  function setState(node, st) {
    node.dataset.state = st;
    const icon = node.querySelector('.meta span');
    if (!icon) return;
    icon.innerHTML = ICONS[st]; // static icon markup
    icon.title = t(st);
    icon.setAttribute('aria-label', t(st));
  }

  function renderPending(entry) {
    if (!ui || state.pendingEls[entry.client_msg_id]) return;
    const node = buildMessage({ body: entry.body, author: { kind: 'customer' }, created_at: entry.created_at });
    node.dataset.clientMsgId = entry.client_msg_id;
    setState(node, 'sending');
    state.pendingEls[entry.client_msg_id] = node;
    ui.list.appendChild(node);
    scrollDown();
  }

  function renderMessage(m) {
    let node = m.client_msg_id && state.pendingEls[m.client_msg_id];
    if (node) {
      delete state.pendingEls[m.client_msg_id];
      node.querySelector('time').textContent = hhmm(m.created_at);
    } else {
      node = buildMessage(m);
    }
    node.dataset.id = m.id;
    node.dataset.seq = m.seq;
    if (m.client_msg_id) node.dataset.clientMsgId = m.client_msg_id;
    setState(node, 'sent');
    place(node, m.seq);
    if (faq.cards[m.id]) renderCard(m.id); // its suggestions came first
  }

  // Keep the list in seq order with unsent messages last. Scan from the end:
  // nearly every message is the newest one.
  function place(node, seq) {
    const stick = nearBottom();
    let ref = null;
    for (let c = ui.list.lastChild; c; c = c.previousSibling) {
      if (c === node) continue;
      if (c.dataset.seq != null && Number(c.dataset.seq) < seq) break;
      ref = c;
    }
    ui.list.insertBefore(node, ref);
    if (stick) scrollDown();
  }

  function nearBottom() {
    const b = ui.body;
    return b.scrollHeight - b.scrollTop - b.clientHeight < 80;
  }
  function scrollDown() { ui.body.scrollTop = ui.body.scrollHeight; }

  // ------------------------------------------------------------ open/close
  function setOpen(flag) {
    if (flag === state.isOpen) return;
    state.isOpen = flag;
    if (!ui) return; // mount() applies it
    ui.root.classList.toggle('open', flag);
    ui.launcher.setAttribute('aria-expanded', String(flag));
    ui.launcher.setAttribute('aria-label', t(flag ? 'close' : 'open'));
    if (flag) {
      setUnread(0);
      scrollDown();
      // On touch devices focusing pops the keyboard over the conversation.
      if (window.matchMedia && matchMedia('(pointer:fine)').matches) ui.input.focus();
      markRead();
    } else {
      stopTyping();
    }
    emit(flag ? 'open' : 'close');
  }
  const open = () => setOpen(true);
  const close = () => setOpen(false);

  // ----------------------------------------------------------- connection
  // `starting` keeps a second session POST from racing the first (it would mint a
  // second anonymous customer).
  function start() {
    clearTimeout(retryTimer);
    if (state.stopped || ws || starting) return;
    starting = true;
    (state.hasSession ? Promise.resolve() : createSession()).then(() => {
      starting = false;
      openSocket();
    }, (err) => {
      starting = false;
      // A 403 is only readable when the server adds CORS headers to it.
      if (err && (err.status === 403 || err.status === 404)) fail(err.status === 404 ? 'notFound' : 'error');
      else scheduleRetry();
    });
  }

  async function createSession() {
    const body = { site_key: SITE };
    if (state.token) body.token = state.token;
    const res = await fetch(`${ORIGIN}/api/widget/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body), credentials: 'omit'
    });
    if (!res.ok) throw { status: res.status };
    const data = await res.json();
    state.token = data.token;
    store.set('token', data.token);
    switchCustomer(data.customer_id);
    state.config = data.config || {};
    state.hasSession = true;
    applyConfig();
  }

  // A new session after 4401 may be another customer, whose history is not ours.
  function switchCustomer(id) {
    if (state.customerId && id !== state.customerId) {
      Object.assign(state, { roomId: null, room: null, seq: 0, maxSeq: 0, lastRead: 0, messages: {} });
      faq.cards = {};
      // Messages and their FAQ cards (which carry their message's seq).
      if (ui) for (const c of Array.from(ui.list.children)) if (c.dataset.seq != null) c.remove();
    }
    state.customerId = id;
  }

  function openSocket() {
    if (ws || state.stopped) return;
    let sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { return scheduleRetry(); }
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', token: state.token }));
    sock.onmessage = (ev) => { if (ws === sock) onFrame(parse(ev.data)); };
    sock.onclose = (ev) => { if (ws === sock) dropSocket(ev.code); };
  }

  function parse(data) { try { return JSON.parse(data); } catch (e) { return null; } }

  function dropSocket(code) {
    const sock = ws;
    ws = null;
    state.welcomed = state.synced = typingOut = false;
    clearInterval(heartbeat);
    clearTimeout(deadline);
    showTyping(null);
    if (sock) {
      sock.onclose = sock.onmessage = null;
      try { sock.close(); } catch (e) { /* already closed */ }
    }
    for (const ref in requests) requests[ref].reject({ code: 'disconnected' });
    requests = {};
    if (code === 4403) return fail('error');
    if (code === 4401) { state.token = null; store.del('token'); state.hasSession = false; }
    scheduleRetry();
  }

  function fail(key) {
    state.stopped = true;
    setConn('error', t(key));
    if (ui) ui.input.disabled = ui.send.disabled = true;
  }

  // 0.5 s * 2^n capped at 15 s, with +-50% jitter so that a restarted server is not
  // hit by every open shop page in the same instant.
  function scheduleRetry() {
    if (state.stopped) return;
    clearTimeout(retryTimer);
    setConn(navigator.onLine === false ? 'offline' : 'reconnecting');
    const delay = Math.min(15000, 500 * 2 ** attempt) * (0.5 + Math.random());
    attempt = Math.min(attempt + 1, 10);
    retryTimer = setTimeout(start, delay);
  }

  function reconnectNow() {
    if (state.stopped) return;
    attempt = 0;
    if (ws) probe(); else start();
  }

  // The server's WebSocket pings are invisible to page code, so an app-level ping is
  // how a half-open link (sleeping laptop, switched network) gets noticed.
  function probe() {
    if (!ws || ws.readyState !== 1) return;
    clearTimeout(deadline);
    deadline = setTimeout(() => dropSocket(0), 10000);
    ws.send(JSON.stringify({ type: 'ping' }));
  }

  function send(frame) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  function request(frame) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== 1) return reject({ code: 'disconnected' });
      frame.ref = 'r' + ++refSeq;
      requests[frame.ref] = { resolve, reject };
      ws.send(JSON.stringify(frame));
    });
  }

  function onFrame(f) {
    if (!f) return;
    clearTimeout(deadline); // any frame proves the link is alive
    if (state.welcomed && state.conn !== 'connected') setConn('connected');
    switch (f.type) {
      case 'welcome': return onWelcome(f);
      case 'ack': case 'error': return settle(f);
      case 'message': return onMessage(f.message, true);
      case 'room': return onRoom(f.room);
      case 'typing': return onTyping(f);
      case 'presence': return setPresence(f.agents_online);
      case 'suggestions': return onSuggestions(f);
    }
  }

  function settle(f) {
    const r = f.ref && requests[f.ref];
    if (!r) {
      if (f.type === 'error') console.warn('[sapa]', f.code, f.message);
      return;
    }
    delete requests[f.ref];
    if (f.type === 'ack') r.resolve(f); else r.reject(f);
  }

  async function onWelcome(f) {
    const sock = ws;
    attempt = 0;
    switchCustomer(f.customer_id || state.customerId);
    const room = (f.rooms || []).find((r) =>
      r.kind === 'private' && (!r.customer_id || r.customer_id === state.customerId));
    if (room) adoptRoom(room, true);
    if (f.agents_online != null) setPresence(f.agents_online);
    state.welcomed = true;
    setConn('connected');
    clearInterval(heartbeat);
    heartbeat = setInterval(probe, 25000);
    faq.off = false;
    if (ui) queueSearch(); // what was typed while offline
    try {
      await syncHistory();
    } catch (err) {
      if (ws !== sock) return;
      console.warn('[sapa] sync failed', err && err.code);
    }
    if (ws !== sock) return;
    state.synced = state.historyLoaded = true;
    flushOutbox();
    markRead();
    if (!state.ready) { state.ready = true; emit('ready'); }
  }

  // Pages advance a local cursor: live events during the sync may run ahead of it,
  // and notes leave gaps in seq, so only a finished page proves what is held.
  async function syncHistory() {
    const roomId = state.roomId;
    if (!roomId) return;
    let after = state.seq, more = true;
    while (more) {
      const ack = await request({ type: 'sync', room_id: roomId, after_seq: after, limit: 200 });
      const msgs = ack.messages || [];
      for (const m of msgs) { onMessage(m, false); after = Math.max(after, m.seq); }
      state.seq = Math.max(state.seq, after);
      more = ack.has_more && msgs.length > 0;
    }
  }

  function adoptRoom(room, fromWelcome) {
    if (state.roomId && room.id !== state.roomId) return;
    const prev = state.room;
    state.roomId = room.id;
    state.room = room;
    // The server counts agent messages past our read mark, which survives reloads.
    if (fromWelcome && !state.isOpen && typeof room.unread === 'number') setUnread(room.unread);
    const resolved = room.status === 'resolved';
    const fresh = !prev || prev.status !== 'resolved';
    if (!resolved) showRating(false);
    else if (fresh && !store.get(`rated:${room.id}:${room.updated_at}`)) showRating(true);
  }

  function onRoom(room) {
    if (!room || room.kind !== 'private') return;
    if (!state.roomId && room.customer_id && room.customer_id !== state.customerId) return;
    adoptRoom(room, false);
  }

  function onMessage(m, live) {
    if (!m || m.kind === 'note') return;
    // Until public rooms are joined, only our private room's events reach us.
    if (!state.roomId) state.roomId = m.room_id;
    if (m.room_id !== state.roomId) return;
    if (live && state.synced) state.seq = Math.max(state.seq, m.seq);
    state.maxSeq = Math.max(state.maxSeq, m.seq);
    if (isOwn(m) && m.client_msg_id) removeFromOutbox(m.client_msg_id);
    if (state.messages[m.id]) return;
    state.messages[m.id] = m;
    if (ui) renderMessage(m);
    const fromAgent = m.author && m.author.kind === 'agent';
    if (fromAgent && ui && ui.ttext.dataset.author === m.author.id) showTyping(null);
    if (!live && !state.historyLoaded) return; // the first history load is not news
    // With the server's unread count, messages caught up by sync are already counted.
    const counted = !live && state.room && typeof state.room.unread === 'number';
    if (fromAgent && !state.isOpen && !counted) setUnread(state.unread + 1);
    emit('message', m);
    markRead();
  }

  function onTyping(f) {
    if (f.room_id !== state.roomId || !f.author || f.author.kind === 'customer') return;
    showTyping(f.active ? f.author : null);
  }

  function showTyping(author) {
    if (!ui) return;
    clearTimeout(typingInTimer);
    ui.typing.hidden = !author;
    if (!author) { delete ui.ttext.dataset.author; return; }
    // "Kak" is how shoppers address staff in Indonesian; do not say it twice.
    const name = (author.name || t('agent')).replace(/^kak\s+/i, '');
    ui.ttext.textContent = t('typing', { name });
    ui.ttext.dataset.author = author.id || '';
    // A lost "active: false" must not leave the indicator up forever.
    typingInTimer = setTimeout(() => showTyping(null), 8000);
  }

  function markRead() {
    if (!state.isOpen || document.visibilityState === 'hidden') return;
    if (!state.welcomed || !state.roomId || state.maxSeq <= state.lastRead) return;
    state.lastRead = state.maxSeq;
    send({ type: 'read', room_id: state.roomId, seq: state.maxSeq });
  }

  // ---------------------------------------------------------------- sending
  // randomUUID needs a secure context; shops on plain http still need unique ids.
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function submit() {
    const body = ui.input.value;
    // maxlength counts UTF-16 units, so a typed body never exceeds the server's limit.
    if (!body.trim() || state.stopped || state.outbox.length >= MAX_OUTBOX) return;
    ui.input.value = '';
    onInput();
    const entry = { client_msg_id: uuid(), body, created_at: new Date().toISOString() };
    state.outbox.push(entry);
    saveOutbox();
    renderPending(entry);
    sendEntry(entry);
  }

  function flushOutbox() { state.outbox.slice().forEach(sendEntry); }

  // No room_id: the server picks our private room, creating it on the first send.
  async function sendEntry(entry) {
    const id = entry.client_msg_id;
    if (!state.welcomed || state.inflight[id]) return;
    state.inflight[id] = true;
    try {
      const ack = await request({ type: 'send', client_msg_id: id, body: entry.body });
      if (ack.message) onMessage(Object.assign({ client_msg_id: id }, ack.message), true);
      removeFromOutbox(id);
    } catch (err) {
      if (PERMANENT.includes(err && err.code)) markFailed(id);
      // rate_limited, unavailable...: try again soon; a lost socket resends after welcome.
      else if (err && err.code !== 'disconnected') setTimeout(() => sendEntry(entry), 3000);
    } finally {
      delete state.inflight[id];
    }
  }

  function removeFromOutbox(id) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((e) => e.client_msg_id !== id);
    if (state.outbox.length !== before) saveOutbox();
  }

  function markFailed(id) {
    removeFromOutbox(id);
    const node = state.pendingEls[id];
    delete state.pendingEls[id];
    if (node) setState(node, 'failed');
  }

  function onInput() {
    const input = ui.input;
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 120) + 'px';
    ui.send.disabled = !input.value.trim() || state.stopped;
    queueSearch();
    if (!input.value) return stopTyping();
    if (!state.welcomed || !state.roomId) return;
    if (!typingOut) {
      typingOut = true;
      send({ type: 'typing', room_id: state.roomId, active: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (!typingOut) return;
    typingOut = false;
    send({ type: 'typing', room_id: state.roomId, active: false });
  }

  async function rate(score) {
    const room = state.room;
    if (!room) return;
    try {
      await request({ type: 'rate', room_id: room.id, score });
    } catch (err) {
      return console.warn('[sapa] rating failed', err && err.code);
    }
    store.set(`rated:${room.id}:${room.updated_at}`, score);
    ui.rtext.textContent = t('thanks');
    ui.stars.hidden = true;
  }

  function showRating(show) {
    if (!ui) return;
    ui.rating.hidden = !show;
    if (!show) return;
    ui.rtext.textContent = t('rate');
    ui.stars.hidden = false;
    scrollDown();
  }

  // -------------------------------------------------------------------- FAQ
  // The shop's FAQ answers, offered while the shopper types (`faq_search`) and, after
  // they send, while they wait for an agent (the `suggestions` event).

  // Called on every input: a changed query of 3+ characters is searched after a pause.
  function queueSearch() {
    clearTimeout(faq.timer);
    const q = ui.input.value.trim();
    if (q.length < 3) return hideLive();
    if (q !== faq.asked) faq.timer = setTimeout(search, 300);
  }

  async function search() {
    const q = ui.input.value.trim().slice(0, 500);
    if (q.length < 3 || q === faq.asked) return;
    if (faq.off || !state.welcomed || !ws || ws.readyState !== 1 || navigator.onLine === false) return;
    const id = ++faq.seq;
    faq.asked = q;
    let ack;
    try {
      ack = await request({ type: 'faq_search', q, limit: 3 });
    } catch (err) {
      if (id === faq.seq) faq.asked = ''; // asked again on the next input or welcome
      // The query is valid, so this server does not know faq_search: do not collect strikes.
      if (err && err.code === 'bad_request') faq.off = true;
      return;
    }
    if (id === faq.seq) showLive(q, validItems(ack.items));
  }

  function hideLive() {
    clearTimeout(faq.timer);
    faq.seq++; // drops the answer to a search still under way
    faq.asked = '';
    ui.faq.hidden = true;
    ui.faqItems.textContent = '';
    ui.faq.dataset.q = '';
  }

  function showLive(q, items) {
    const stick = nearBottom();
    const expanded = ui.faqItems.querySelector('.qa-q[aria-expanded=true]');
    const keep = expanded && expanded.parentNode.dataset.faqId; // stays open across refreshes
    ui.faq.dataset.q = q; // which query the list answers (tests wait on it)
    ui.faqItems.textContent = '';
    for (const item of items.slice(0, 3)) {
      const row = ui.faqItems.appendChild(buildQa(item, 'sapa-faq-live-item', 'sapa-faq-live-answer'));
      if (item.faq_id === keep) toggleQa(row, true);
    }
    ui.faq.hidden = !items.length;
    if (stick) scrollDown();
  }

  const validItems = (items) => (Array.isArray(items) ? items : [])
    .filter((it) => it && it.faq_id != null && typeof it.question === 'string');

  let qaSeq = 0;
  // One question that expands to its answer; the live list and the cards both use it.
  function buildQa(item, testid, answerTestid) {
    const row = el('div', 'qa');
    row.dataset.testid = testid;
    row.dataset.faqId = item.faq_id;
    const btn = row.appendChild(el('button', 'qa-q'));
    btn.type = 'button';
    btn.innerHTML = `<span class="ic">${ICONS.faq}</span><span class="qt"></span><span class="chev">${ICONS.down}</span>`;
    btn.querySelector('.qt').textContent = item.question;
    const ans = row.appendChild(el('div', 'qa-a'));
    ans.dataset.testid = answerTestid;
    ans.id = `sapa-a${++qaSeq}`;
    ans.appendChild(answerNode(item));
    btn.setAttribute('aria-controls', ans.id);
    btn.addEventListener('click', () => {
      if (toggleQa(row)) ans.scrollIntoView({ block: 'nearest' });
    });
    toggleQa(row, false);
    return row;
  }

  function toggleQa(row, show) {
    const ans = row.querySelector('.qa-a');
    if (show == null) show = ans.hidden;
    ans.hidden = !show;
    row.querySelector('.qa-q').setAttribute('aria-expanded', String(show));
    return show;
  }

  // `answer_html` is sanitised by the server. As this runs inside shops' pages, only a
  // small allowlist is kept here too; links resolve against the chat server, open in a
  // new tab, and only web, mail and phone links survive.
  const KEEP_TAGS = /^(p|br|strong|b|em|i|a|ul|ol|li|code)$/i; // SVG's own tags are lowercase
  const DROP_TAGS = /^(script|style|template|iframe|object|noscript|title)$/i;
  function answerNode(item) {
    const box = el('div', 'answer');
    if (typeof item.answer_html !== 'string') {
      box.textContent = item.answer || '';
      return box;
    }
    const tpl = document.createElement('template');
    tpl.innerHTML = item.answer_html; // inert: nothing in a template runs or loads
    clean(tpl.content);
    box.appendChild(tpl.content);
    return box;
  }

  function clean(parent) {
    for (const node of Array.from(parent.childNodes)) {
      if (node.nodeType === 3) continue;
      if (node.nodeType !== 1 || DROP_TAGS.test(node.tagName)) { node.remove(); continue; }
      clean(node);
      if (!KEEP_TAGS.test(node.tagName)) { node.replaceWith(...node.childNodes); continue; }
      const href = node.getAttribute('href');
      for (const a of Array.from(node.attributes)) node.removeAttribute(a.name);
      if (node.tagName !== 'A') continue;
      let url = null;
      try { url = new URL(href || '', ORIGIN); } catch (e) { /* not a link */ }
      if (href && url && /^(https?|mailto|tel):$/.test(url.protocol)) {
        node.href = url.href;
        node.target = '_blank';
        node.rel = 'noopener noreferrer';
      }
    }
  }

  // Live only: sent after a shopper's message while no agent has answered yet.
  function onSuggestions(f) {
    const mid = f.for_message_id;
    const items = validItems(f.items).slice(0, 3);
    if (!mid || !items.length || faq.cards[mid]) return;
    if (state.roomId && f.room_id && f.room_id !== state.roomId) return;
    faq.cards[mid] = { items, feedback: {}, node: null };
    renderCard(mid);
  }

  // A card sits right after its message; it carries that message's seq so that place()
  // keeps later messages below it.
  function renderCard(mid) {
    const card = faq.cards[mid];
    if (!ui || !card || (card.node && card.node.isConnected)) return;
    let msg = ui.list.lastChild;
    while (msg && msg.dataset.id !== mid) msg = msg.previousSibling;
    if (!msg) return; // drawn once the message is (renderMessage)
    const stick = nearBottom();
    card.node = card.node || buildCard(mid, card);
    card.node.dataset.seq = msg.dataset.seq;
    msg.after(card.node);
    if (stick) scrollDown();
  }

  function buildCard(mid, card) {
    const node = el('div', 'faqcard');
    node.dataset.testid = 'sapa-suggestions';
    node.dataset.forMessageId = mid;
    node.setAttribute('role', 'group');
    node.setAttribute('aria-label', t('faqCard'));
    const head = node.appendChild(el('div', 'faqcard-head'));
    head.innerHTML = ICONS.bulb; // static icon
    head.appendChild(el('span', null, t('faqCard')));
    for (const item of card.items) {
      const row = node.appendChild(buildQa(item, 'sapa-suggestion', 'sapa-suggestion-answer'));
      const fb = row.querySelector('.qa-a').appendChild(el('div', 'fb'));
      fb.appendChild(el('span', null, t('faqAsk')));
      for (const helpful of [true, false]) {
        const b = fb.appendChild(el('button', null, t(helpful ? 'faqYes' : 'faqNo')));
        b.type = 'button';
        b.dataset.testid = helpful ? 'sapa-feedback-yes' : 'sapa-feedback-no';
        b.addEventListener('click', () => feedback(mid, item.faq_id, helpful, row));
      }
      const done = row.appendChild(el('div', 'fb-done'));
      done.dataset.testid = 'sapa-feedback-done';
      done.setAttribute('role', 'status');
      done.hidden = true;
    }
    return node;
  }

  // Helpful: the card folds to that answer's question and a note. Not helpful: the
  // answer folds and the shopper is told a person will reply.
  async function feedback(mid, faqId, helpful, row) {
    const card = faq.cards[mid];
    if (!card || faqId in card.feedback) return;
    const buttons = Array.from(row.querySelectorAll('.fb button'));
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await request({ type: 'faq_feedback', faq_id: faqId, helpful, for_message_id: mid });
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      return console.warn('[sapa] feedback failed', err && err.code);
    }
    card.feedback[faqId] = helpful;
    const hadFocus = row.contains(row.getRootNode().activeElement);
    row.querySelector('.fb').remove();
    toggleQa(row, false);
    const done = row.querySelector('.fb-done');
    done.textContent = t(helpful ? 'faqThanksYes' : 'faqThanksNo');
    done.hidden = false;
    if (helpful) {
      row.classList.add('helped');
      card.node.classList.add('solved');
    }
    if (hadFocus) row.querySelector('.qa-q').focus();
  }

  // -------------------------------------------------------------------- API
  function emit(name, arg) {
    for (const fn of (listeners[name] || []).slice()) {
      try { fn(arg); } catch (e) { console.error('[sapa] listener failed', e); } // shop code must not break chat
    }
  }

  function call(args) {
    const [name, ...rest] = Array.from(args || []);
    if (typeof api[name] !== 'function' || name === 'q') return console.warn('[sapa] unknown call', name);
    return api[name](...rest);
  }

  // Callable too, for the `Sapa('open')` flavour of async snippet. Methods return
  // nothing: a returned (callable) api gets invoked by tools that call what they get.
  const api = function () { return call(arguments); };
  Object.assign(api, {
    __sapa: true,
    open() { open(); },
    close() { close(); },
    toggle() { setOpen(!state.isOpen); },
    on(name, fn) {
      if (typeof fn !== 'function') return;
      (listeners[name] = listeners[name] || []).push(fn);
      if (name === 'ready' && state.ready) fn(); // late subscribers still hear it
    },
    off(name, fn) {
      listeners[name] = (listeners[name] || []).filter((f) => f !== fn);
    },
    // identify(...) comes here (a later issue): POST /api/widget/identify with the bearer
    // token, then dropSocket() so the merged customer's rooms arrive in a fresh welcome.
    q: { push: call } // the page's snippet keeps pushing here after load
  });

  const queued = window.Sapa && Array.isArray(window.Sapa.q) ? window.Sapa.q : [];
  window.Sapa = api;

  // ------------------------------------------------------------------- boot
  function boot() {
    mount();
    queued.forEach((args) => call(args));
    start();
  }

  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => { setConn('offline'); probe(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    markRead();
    probe();
  });

  state.locale = pickLocale();
  if (document.body) boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
