/*
 * Sapa shopper widget: the chat app. widget.js (the loader every shop page gets) draws the
 * launcher and loads this file when the shopper is about to chat; it hands over its state
 * in window.Sapa.__loader. Plain JS, no build step, no dependencies; speaks
 * docs/protocol.md only. The UI lives in the loader's open Shadow DOM so the shop's CSS
 * cannot reach it. The file is pure ASCII on purpose: a script served without a charset
 * takes the page's encoding.
 *
 * A session and a socket are opened only when the panel opens, when the page calls
 * identify(), or when this visitor has a conversation in progress (so that unread replies
 * reach the launcher): never for a page view alone.
 *
 * Page API, window.Sapa. Calls made before this script has loaded are queued and run
 * once it has: `window.Sapa = window.Sapa || {q: []}; Sapa.q.push(['open']);`
 * `Sapa('open')` is the same as `Sapa.open()`.
 *   Sapa.open(), Sapa.close(), Sapa.toggle()  show or hide the chat panel.
 *   Sapa.on(name, fn), Sapa.off(name, fn)     listen to events:
 *     'ready'       connected and history loaded, once (late listeners are called at once)
 *     'open', 'close'   the panel was shown or hidden
 *     'message'     fn(message): a new message in the shopper's own conversation
 *     'identified'  fn({customer_id}): identify() succeeded
 *     'error'       fn({op, code, message}): a call failed, e.g. identify() with a wrong
 *                   hash: {op: 'identify', code: 'forbidden'}
 *   Sapa.identify({external_id, name?, email?, user_hash}) tells Sapa who the logged-in
 *     shopper is, so their conversation follows them to other devices. user_hash is
 *     hex(HMAC-SHA256(the site's identity secret, external_id)), computed on the shop's
 *     server: the secret must never reach the page. Returns a Promise of true, or of
 *     false when refused (an 'error' event says why, and nothing changes). When this
 *     browser was identified as another shopper before (a shared computer whose shop did
 *     not call reset()), the new shopper starts afresh: nothing of the previous one is shown.
 *   Sapa.reset() forgets the shopper on this browser: call it when they log out of the
 *     shop. Their token, unsent messages and conversation on screen go (in every tab of
 *     the shop); a new anonymous visitor starts when the panel is next open (Sapa keeps
 *     no record of a visitor until they write).
 */
(function () {
  'use strict';

  const loader = window.Sapa && window.Sapa.__loader;
  if (!loader || loader.app) return; // loaded without the loader, or twice

  const SITE = loader.site;
  const ORIGIN = loader.origin;
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
      queue: 'Anda di antrean ke-{n}', queueEta: 'Anda di antrean ke-{n}, sekitar {m} menit',
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
      faqThanksNo: 'Terima kasih! Tim kami akan segera membalas.', help: 'Pusat bantuan',
      // Pre-chat form: asked once before the first message when the shop wants it
      pcTitle: 'Sebelum mulai, boleh kenalan dulu?', pcName: 'Nama', pcEmail: 'Email',
      pcEmailOpt: 'Email (opsional)', pcConsent: 'Saya setuju menerima info promo',
      pcSubmit: 'Mulai chat', pcNeedName: 'Nama wajib diisi.', pcNeedEmail: 'Email wajib diisi.',
      pcBadEmail: 'Format email belum benar, contoh: nama@email.com.',
      pcFailed: 'Gagal menyimpan. Coba lagi ya.',
      // Community: the shop's public rooms
      tabs: 'Bagian', tabChat: 'Chat', tabCommunity: 'Komunitas',
      cIntro: 'Tanya jawab terbuka bersama pembeli lain dan tim toko. Semua pengunjung bisa membaca.',
      cNone: 'Belum ada ruang komunitas.', cUnread: '{n} pesan baru', back: 'Kembali',
      staff: 'Tim Toko', you: 'kamu', reply: 'Balas', replying: 'Membalas {name}',
      cancelReply: 'Batal membalas', rPlaceholder: 'Tulis pertanyaan atau jawaban\u2026',
      rNote: 'Terlihat oleh semua pengunjung. Jangan tulis data pribadi.',
      pinned: 'Disematkan', answered: 'Dijawab Tim Toko', quoteGone: 'Pesan ini sudah dihapus.',
      // Files: attach, paste or drop; a preview before sending; thumbnails, tap for full size
      attach: 'Lampirkan foto atau file', removeFile: 'Hapus {name}', retry: 'Coba lagi',
      uploading: 'Mengunggah\u2026', fileLost: 'File tidak tersedia lagi; lampirkan ulang.',
      rAttach: 'Lampirkan foto', imagesOnly: 'Di ruang ini hanya foto yang bisa dikirim.',
      image: 'Gambar', openImage: 'Buka gambar {name}', closeImage: 'Tutup gambar',
      older: 'Memuat pesan lama\u2026', rEmpty: 'Belum ada pesan. Ayo mulai bertanya!',
      nameAsk: 'Pilih nama tampilan untuk menulis di komunitas:', namePh: 'Nama tampilan',
      nameSave: 'Simpan', nameStaff: 'Nama yang mirip staf toko tidak boleh dipakai{word}. Pilih nama lain.',
      nameBad: 'Nama tampilan 2\u201340 karakter dan harus ada hurufnya.',
      eArchived: 'Ruang ini sudah diarsipkan. Kamu masih bisa membaca.',
      eMuted: 'Kamu tidak bisa menulis di ruang ini sampai {time}.',
      eSlow: 'Mode lambat aktif: tunggu {n} detik sebelum menulis lagi.',
      eFast: 'Terlalu cepat. Tunggu {n} detik ya.', eOffline: 'Tidak tersambung. Coba lagi sebentar.',
      eReply: 'Pesan yang kamu balas sudah tidak ada.', eOther: 'Tidak terkirim: {msg}',
      // System lines, from their `event` data; a visitor who gave no name
      'ev.assigned': 'Ditangani oleh {name}', 'ev.unassigned': 'Dikembalikan ke antrean',
      'ev.resolved': 'Diselesaikan oleh {name}', 'ev.reopened': 'Dibuka kembali oleh {name}',
      'ev.reopened_by_customer': 'Dibuka kembali oleh pelanggan', visitor: 'Pengunjung {id}',
      // Business hours and email: out of hours, when nobody is online, replies by email
      closed: 'Sedang tutup', backAt: 'Kembali pukul {time}', backTomorrow: 'Kembali besok pukul {time}',
      backOn: 'Kembali {day} pukul {time}', replyIn: 'Biasanya membalas dalam {n} menit',
      ecTitle: 'Tinggalkan email agar kami bisa membalas walau kamu sudah pergi.',
      ecPh: 'nama@email.com', ecConsent: 'Kirim balasan ke email saya', ecSubmit: 'Simpan email',
      ecDone: 'Kami akan membalas ke {email}.', ecFailed: 'Email belum tersimpan. Coba lagi ya.',
      transcript: 'Kirim transkrip ke email saya', transcriptSent: 'Transkrip dikirim ke {email}.',
      // Unsend and edit: the sender's own messages
      msgDeleted: 'Pesan dihapus', edited: '(diedit)', edit: 'Ubah', del: 'Hapus',
      delSure: 'Yakin hapus?', save: 'Simpan', cancelEdit: 'Batal',
      tooLate: 'Pesan hanya bisa diubah dalam 15 menit.'
    },
    en: {
      open: 'Open chat', close: 'Close chat', placeholder: 'Write a message\u2026', send: 'Send',
      online: 'We are online', away: 'We will reply as soon as we can', agent: 'Agent',
      typing: '{name} is typing\u2026', greeting: 'Hi! How can we help?',
      queue: 'You are number {n} in the queue',
      queueEta: 'You are number {n} in the queue, about {m} minutes',
      queueEta1: 'You are number {n} in the queue, about 1 minute',
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
      faqThanksNo: 'Thank you! Our team will reply soon.', help: 'Help center',
      pcTitle: 'Before we start, may we know you?', pcName: 'Name', pcEmail: 'Email',
      pcEmailOpt: 'Email (optional)', pcConsent: 'I agree to receive offers',
      pcSubmit: 'Start chat', pcNeedName: 'Please enter your name.', pcNeedEmail: 'Please enter your email.',
      pcBadEmail: 'That email does not look right, e.g. name@example.com.',
      pcFailed: 'Could not save. Please try again.',
      tabs: 'Sections', tabChat: 'Chat', tabCommunity: 'Community',
      cIntro: 'Open questions and answers with other shoppers and the shop team. Every visitor can read them.',
      cNone: 'No community rooms yet.', cUnread: '{n} new', back: 'Back',
      staff: 'Staff', you: 'you', reply: 'Reply', replying: 'Replying to {name}',
      cancelReply: 'Cancel reply', rPlaceholder: 'Write a question or an answer\u2026',
      rNote: 'Everyone can read this. Do not share personal data.',
      pinned: 'Pinned', answered: 'Answered by staff', quoteGone: 'This message was removed.',
      attach: 'Attach a photo or file', removeFile: 'Remove {name}', retry: 'Retry',
      uploading: 'Uploading\u2026', fileLost: 'The file is no longer available; attach it again.',
      rAttach: 'Attach a photo', imagesOnly: 'Only photos can be posted in this room.',
      image: 'Image', openImage: 'Open image {name}', closeImage: 'Close image',
      older: 'Loading older messages\u2026', rEmpty: 'No messages yet. Ask the first question!',
      nameAsk: 'Choose a display name to write in the community:', namePh: 'Display name',
      nameSave: 'Save', nameStaff: 'Names that look like the shop staff are reserved{word}. Please pick another.',
      nameBad: 'A display name has 2\u201340 characters, with letters.',
      eArchived: 'This room is archived. You can still read it.',
      eMuted: 'You cannot write in this room until {time}.',
      eSlow: 'Slow mode: wait {n} seconds before writing again.',
      eFast: 'Too fast. Please wait {n} seconds.', eOffline: 'Not connected. Try again in a moment.',
      eReply: 'The message you replied to is gone.', eOther: 'Not sent: {msg}',
      'ev.assigned': 'Assigned to {name}', 'ev.unassigned': 'Back in the queue',
      'ev.resolved': 'Resolved by {name}', 'ev.reopened': 'Reopened by {name}',
      'ev.reopened_by_customer': 'Reopened by the customer', visitor: 'Visitor {id}',
      closed: 'Closed now', backAt: 'Back at {time}', backTomorrow: 'Back tomorrow at {time}',
      backOn: 'Back {day} at {time}', replyIn: 'Usually replies within {n} minutes',
      ecTitle: 'Leave your email so we can reply even after you leave.',
      ecPh: 'name@example.com', ecConsent: 'Email me the replies', ecSubmit: 'Save email',
      ecDone: 'We will reply to {email}.', ecFailed: 'Your email was not saved. Please try again.',
      transcript: 'Email me the transcript', transcriptSent: 'Transcript sent to {email}.',
      msgDeleted: 'Message deleted', edited: '(edited)', edit: 'Edit', del: 'Delete',
      delSure: 'Delete it?', save: 'Save', cancelEdit: 'Cancel',
      tooLate: 'A message can be edited for 15 minutes.'
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
    back: svg(24, '<path d="M15 5l-7 7 7 7"/>', LINE + ' stroke-width="2.4"'),
    pin: svg(16, '<path d="M10.3 2.2l3.5 3.5-2.1.7-2.3 2.3.4 3.1-1.1 1.1-2.5-2.5-3.3 3.3M5.2 7.8L7.5 5.5l.7-2.1z"/>', LINE + ' stroke-width="1.5"'),
    reply: svg(16, '<path d="M6.5 4L2.5 8l4 4M3 8h6.5a4 4 0 014 4v1"/>', LINE + ' stroke-width="1.6"'),
    clip: svg(24, '<path d="M20.5 11.5l-8.3 8.3a5 5 0 01-7.1-7.1l8.3-8.3a3.3 3.3 0 014.7 4.7l-8.3 8.3a1.7 1.7 0 01-2.4-2.4l7.6-7.6"/>', LINE + ' stroke-width="1.9"'),
    doc: svg(24, '<path d="M14 3H7a2 2 0 00-2 2v14a2 2 0 002 2h10a2 2 0 002-2V8z"/><path d="M14 3v5h5"/>', LINE + ' stroke-width="1.8"'),
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
.panel{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:372px;height:min(640px,calc(100vh - 116px));display:none;flex-direction:column;overflow:hidden;border-radius:16px;background:#fff;box-shadow:0 12px 48px rgba(15,23,42,.22),0 0 0 1px rgba(15,23,42,.06);animation:pop .2s ease-out}
.open .panel{display:flex}
@keyframes pop{from{opacity:0;transform:translateY(12px) scale(.98)}}
.head{display:flex;align-items:center;gap:12px;padding:16px 14px 16px 18px;background:var(--accent);color:var(--on-accent)}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;display:grid;place-items:center;background:rgba(255,255,255,.22);font-weight:700;font-size:17px}
.title{flex:1;min-width:0}.name{font-weight:700;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.presence{display:flex;align-items:center;gap:6px;font-size:12.5px;opacity:.92}
.dot{width:8px;height:8px;border-radius:50%;background:#cbd5e1;box-shadow:0 0 0 2px rgba(255,255,255,.35)}.dot.on{background:#22c55e}
.hbtn{width:36px;height:36px;border-radius:50%;display:grid;place-items:center}.hbtn:hover{background:rgba(255,255,255,.16)}.hbtn svg{width:22px}
.status{padding:6px 14px;font-size:12.5px;text-align:center;background:#fef3c7;color:#92400e}
.queue{padding:6px 14px;font-size:12.5px;text-align:center;background:#e0f2fe;color:#075985}
.status[data-state=connected]{display:none}.status[data-state=error]{background:#fee2e2;color:#b91c1c}
.body{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f6f7f9;display:flex;flex-direction:column;overscroll-behavior:contain}
.list{display:flex;flex-direction:column}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:82%;margin-top:10px}
.greet{margin-top:0}
.own{align-self:flex-end;align-items:flex-end}
.author{font-size:12px;color:#6b7280;margin:0 4px 3px}
.bubble{padding:9px 13px;border-radius:18px 18px 18px 5px;background:#fff;box-shadow:0 1px 2px rgba(15,23,42,.08);white-space:pre-wrap;overflow-wrap:anywhere}
.own .bubble{background:var(--accent);color:var(--on-accent);border-radius:18px 18px 5px 18px}
.bubble .link{color:inherit;text-decoration:underline;text-underline-offset:2px}.bubble .link:focus-visible{outline-color:currentColor}
.own[data-state=sending] .bubble{opacity:.75}.own[data-state=failed] .bubble{background:#fecaca;color:#7f1d1d}
.meta{display:flex;align-items:center;gap:4px;margin:3px 6px 0;font-size:11px;color:#5b6370}
.meta span{display:inline-flex}.meta svg{width:14px;height:14px}
.own[data-state=sent] .meta span{color:var(--accent)}.own[data-state=failed] .meta{color:#dc2626}
.gone .bubble,.own.gone .bubble{background:#eceef2;color:#5b6370;font-style:italic}
.edited{font-style:normal}
.acts{display:flex;gap:8px;margin:2px 6px 0;font-size:11px;opacity:0}
.msg:hover .acts,.msg:focus-within .acts{opacity:1}
.acts button{padding:0;color:#5b6370;text-decoration:underline;font-size:11px}
.editor{display:flex;flex-direction:column;align-items:flex-end;gap:4px;width:100%}
.editor textarea{width:100%;min-width:180px;font:inherit;padding:6px 8px;border:1px solid #cbd5e1;border-radius:10px;resize:vertical}
.editor .row{display:flex;gap:8px;font-size:12px}.editor .err{font-size:11.5px;color:#b91c1c}
.event{align-self:center;align-items:center;max-width:92%;margin:12px 0 2px;padding:3px 12px;border-radius:999px;background:#eceef2;color:#4b5563;font-size:12px;text-align:center;white-space:pre-wrap}
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
textarea::placeholder{color:#6b7280}
.sendbtn{flex:none;width:38px;height:38px;border-radius:50%;display:grid;place-items:center;background:var(--accent);color:var(--on-accent);transition:opacity .15s}
.sendbtn svg{width:18px;height:18px}.sendbtn:disabled{opacity:.35;cursor:default}
.foot{display:flex;justify-content:center;gap:6px;padding:2px 0 8px;font-size:11px;color:#6b7280;background:#fff}
.foot a{color:#6b7280;text-decoration:none;border-radius:3px}.foot a:hover{color:var(--accent);text-decoration:underline}
a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
/* FAQ: the live list above the input, questions that expand (.qa), cards after messages */
.faq{flex:none;max-height:min(42%,260px);overflow-y:auto;padding:6px 8px 4px;border-top:1px solid #eceef2;background:#fff;overscroll-behavior:contain}
.faq-head{display:flex;align-items:center;justify-content:space-between;padding:0 0 2px 8px;font-size:12px;font-weight:600;color:#6b7280}
.faq-hide{width:26px;height:26px;border-radius:50%;display:grid;place-items:center;color:#6b7280}.faq-hide:hover{background:#f3f4f6;color:#4b5563}.faq-hide svg{width:13px}
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
/* Tabs (private chat, community); forms (pre-chat, display name) */
.view{flex:1;min-height:0;display:flex;flex-direction:column}
.tabs{display:flex;gap:2px;padding:0 8px;background:var(--accent);color:var(--on-accent)}
.tab{flex:1;display:flex;align-items:center;justify-content:center;gap:6px;padding:7px 6px 8px;border-bottom:3px solid transparent;font-size:13.5px;font-weight:500}
.tab:hover{border-bottom-color:rgba(255,255,255,.4)}.tab[aria-selected=true]{font-weight:700;border-bottom-color:currentColor}
/* On the accent the accent ring is invisible: header and tab buttons ring in the text colour */
.head button:focus-visible,.tab:focus-visible{outline:2px solid var(--on-accent);outline-offset:-4px}
.panel:focus{outline:0}
.count{min-width:19px;height:19px;padding:0 6px;border-radius:10px;background:#be123c;color:#fff;font-size:11px;font-weight:700;line-height:19px;text-align:center}
input{margin:0;font:inherit;color:inherit}
.field input,.nameform input{width:100%;min-width:0;padding:8px 11px;border:1px solid #d1d5db;border-radius:10px;background:#fff;color:#111827;font-size:14px;outline:0}
.field input:focus,.nameform input:focus{border-color:var(--accent);box-shadow:0 0 0 2px var(--accent)}
.field input[aria-invalid=true]{border-color:#dc2626;box-shadow:0 0 0 1px #dc2626}
.btn{padding:9px 16px;border-radius:10px;background:var(--accent);color:var(--on-accent);font-weight:600;font-size:13.5px}.btn:disabled{opacity:.5}
.err{font-size:12.5px;color:#b91c1c;overflow-wrap:anywhere}
.prechat{display:flex;flex-direction:column;gap:10px;margin-top:12px;padding:14px;border-radius:14px;background:#fff;box-shadow:0 1px 3px rgba(15,23,42,.1)}
.pc-title{font-weight:600}.field{display:flex;flex-direction:column;gap:4px;font-size:12.5px;color:#4b5563}
.transcript{margin-top:8px;align-self:flex-start}
.away{margin-top:10px;padding:10px 12px;border-radius:12px;background:#fff7ed;color:#7c2d12;font-size:13px;white-space:pre-wrap}
.consent{display:flex;align-items:flex-start;gap:8px;font-size:12.5px;cursor:pointer}
.consent input{flex:none;width:16px;height:16px;margin-top:1px;accent-color:var(--accent)}
/* Community: the room list, then one room (messages reuse .msg, .author, .bubble, .own) */
.clist,.rbody{flex:1;overflow-y:auto;padding:14px;background:#f6f7f9;overscroll-behavior:contain}
.cintro{margin:0 2px 12px;font-size:12.5px;color:#6b7280}
.roomrow{display:flex;align-items:center;gap:12px;width:100%;margin-bottom:8px;padding:11px 12px;border-radius:12px;background:#fff;box-shadow:0 1px 2px rgba(15,23,42,.08);text-align:left}
.roomrow:hover{box-shadow:0 0 0 1.5px var(--accent)}
.ricon{flex:none;width:38px;height:38px;border-radius:50%;display:grid;place-items:center;background:#eef2f6;background:color-mix(in srgb,var(--accent) 12%,#fff);color:var(--accent);font-weight:700}
.rr{flex:1;min-width:0}.rr-name{font-weight:600}
.rr-last,.rq,.rtitle{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.rr-last{font-size:12.5px;color:#6b7280}
.roomview{flex:1;min-height:0;display:flex;flex-direction:column}
.rhead{display:flex;align-items:center;gap:6px;padding:6px 12px 6px 6px;border-bottom:1px solid #eceef2;background:#fff}
.rback{width:34px;height:34px;border-radius:50%;display:grid;place-items:center}.rback:hover{background:#f3f4f6}.rback svg{width:20px}
.rtitle{flex:1;font-weight:700}
.pinned{display:flex;gap:8px;width:100%;padding:8px 14px;border-bottom:1px solid #fde68a;background:#fffbeb;color:#78350f;font-size:12.5px;text-align:left}
.pinned svg{flex:none;width:15px;margin-top:2px}.pinned>div{min-width:0}.pl{font-weight:600}
.pb,.qtext{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere;line-height:1.4}
.pinned[aria-expanded=true] .pb{display:block;white-space:pre-wrap}
.rbody{display:flex;flex-direction:column;padding-top:4px}
.older,.rempty{padding:8px;text-align:center;font-size:12.5px;color:#5b6370}.rempty{margin:auto 0}
.rmsg{max-width:86%}.rmsg .author{display:flex;align-items:center;gap:6px}.who{font-weight:600;color:#374151}
.sbadge{padding:1px 7px;border-radius:999px;background:var(--accent);color:var(--on-accent);font-size:10.5px;font-weight:700;line-height:16px}
.staff .bubble{background:#f1f5f9;background:color-mix(in srgb,var(--accent) 8%,#fff);box-shadow:0 0 0 1px #cbd5e1;box-shadow:0 0 0 1px color-mix(in srgb,var(--accent) 40%,#fff)}
.quote{display:block;max-width:100%;margin:0 0 4px;padding:4px 10px;border-left:3px solid var(--accent);border-radius:4px 10px 10px 4px;background:#e8eaee;color:#4b5563;font-size:12px;text-align:left}
.quote b{color:#374151}.quote.gone{border-left-color:#9ca3af;font-style:italic}
.rmeta{display:flex;align-items:center;gap:10px;margin:3px 6px 0;font-size:11px;color:#5b6370}
.rmeta button{display:inline-flex;align-items:center;gap:3px;font-size:11.5px;font-weight:600;color:#4b5563}.rmeta button:hover{color:var(--accent)}
.rmeta svg{width:13px;height:13px}.done{color:#047857;font-weight:600}
.flash .bubble{animation:flash 1.4s}@keyframes flash{0%,50%{box-shadow:0 0 0 3px #f59e0b}}
.rfoot{background:#fff;border-top:1px solid #eceef2}.rfoot .composer{border-top:0}.rfoot .tray{border-top:0}.attach[hidden]{display:none}
.rfoot .err{padding:8px 16px 0}.rnote{padding:0 16px 7px;font-size:11px;color:#6b7280}
.replying{display:flex;align-items:center;gap:6px;padding:7px 8px 0 16px;font-size:12px;color:#4b5563}.replying svg{flex:none;width:14px}.rq{flex:1}
.nameform{display:flex;flex-wrap:wrap;gap:8px;padding:10px 14px 2px;font-size:12.5px;color:#4b5563}
.nameform label{flex-basis:100%}.nameform input{flex:1;width:auto}
/* Files: the tray of files to send, thumbnails in messages, the full-size view */
.attach{flex:none;width:34px;height:38px;display:grid;place-items:center;color:#6b7280;border-radius:10px}.attach:hover{color:var(--accent)}.attach svg{width:20px;height:20px}
.tray{display:flex;gap:8px;overflow-x:auto;padding:8px 12px 0;border-top:1px solid #eceef2;background:#fff}.tray[hidden]{display:none}
.chip{position:relative;flex:none;width:64px;height:64px;border-radius:10px;background:#f1f5f9;display:grid;place-items:center;overflow:hidden;font-size:10px;text-align:center;color:#374151}
.chip img{width:100%;height:100%;object-fit:cover}.chip .nm{padding:2px;overflow-wrap:anywhere}
.chip button{position:absolute;top:2px;right:2px;width:20px;height:20px;border-radius:50%;background:rgba(15,23,42,.7);color:#fff;display:grid;place-items:center}.chip button svg{width:12px;height:12px}
.files{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:4px}.own .files{justify-content:flex-end}
.files .thumb{display:block;padding:0;border-radius:12px;overflow:hidden;background:#e5e7eb;line-height:0}
.files .thumb img{display:block;max-width:220px;max-height:220px;width:auto;height:auto}
.files .file{display:flex;align-items:center;gap:6px;padding:8px 10px;border-radius:12px;background:#fff;box-shadow:0 0 0 1px #e5e7eb;color:#111827;text-decoration:none;font-size:13px;max-width:220px}
.files .file svg{width:20px;height:20px;flex:none}.files .file span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.msg progress{width:140px;height:6px;margin-top:4px}
.retrybtn{margin-top:4px;font-size:12px;color:#b91c1c;text-decoration:underline}
.lightbox{position:absolute;inset:0;z-index:5;background:rgba(15,23,42,.92);display:grid;place-items:center;padding:16px}.lightbox[hidden]{display:none}
.lightbox img{max-width:100%;max-height:100%;object-fit:contain}
.lightbox button{position:absolute;top:10px;right:10px;width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.15);color:#fff;display:grid;place-items:center}.lightbox button svg{width:20px;height:20px}
.panel.dropping{box-shadow:0 0 0 3px var(--accent)}
@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0;animation:none}.open .launcher{display:none}textarea,.field input,.nameform input{font-size:16px}}
@media (prefers-reduced-motion:reduce){.panel,.dots i,.flash .bubble{animation:none}.qa-q .chev{transition:none}}`;

  const HTML = `<section class="panel" data-testid="sapa-panel" role="dialog" tabindex="-1">
<div class="head"><div class="avatar" aria-hidden="true"></div><div class="title"><div class="name"></div>
<div class="presence"><span class="dot"></span><span class="ptext"></span></div></div>
<button class="hbtn" type="button" data-testid="sapa-close">${ICONS.down}</button></div>
<div class="tabs" role="tablist" hidden>
<button class="tab" type="button" role="tab" data-testid="sapa-tab-chat" data-tab="chat" aria-selected="true"><span></span><span class="count" hidden></span></button>
<button class="tab" type="button" role="tab" data-testid="sapa-tab-community" data-tab="community" aria-selected="false"><span></span><span class="count" hidden></span></button></div>
<div class="status" data-testid="sapa-status" role="status" data-state="connecting"></div>
<div class="view" data-view="chat" role="tabpanel">
<div class="body"><div class="msg greet" data-testid="sapa-greeting"><div class="author"></div><div class="bubble"></div></div>
<form class="prechat" data-testid="sapa-prechat" novalidate hidden><div class="pc-title"></div>
<label class="field" data-field="name"><span></span><input data-testid="sapa-prechat-name" autocomplete="name" maxlength="120"></label>
<label class="field" data-field="email"><span></span><input data-testid="sapa-prechat-email" type="email" autocomplete="email" maxlength="254"></label>
<label class="consent"><input data-testid="sapa-prechat-consent" type="checkbox"><span></span></label>
<div class="err" role="alert" hidden></div><button class="btn" type="submit" data-testid="sapa-prechat-submit"></button></form>
<div class="away" data-testid="sapa-away" hidden></div>
<div class="list" data-testid="sapa-messages" role="log" aria-live="polite"></div>
<form class="prechat capture" data-testid="sapa-email-capture" novalidate hidden><div class="pc-title ec-title"></div>
<label class="field"><input data-testid="sapa-email-input" type="email" autocomplete="email" maxlength="254"></label>
<label class="consent"><input data-testid="sapa-email-consent" type="checkbox" checked><span></span></label>
<div class="err" role="alert" hidden></div><button class="btn" type="submit" data-testid="sapa-email-submit"></button></form>
<div class="away" data-testid="sapa-email-done" hidden></div>
<button class="btn transcript" type="button" data-testid="sapa-transcript" hidden></button>
<div class="rating" data-testid="sapa-rating" hidden><div class="rtext"></div><div class="stars"></div></div></div>
<div class="queue" data-testid="sapa-queue" role="status" hidden></div>
<div class="typing" data-testid="sapa-typing" hidden><span class="dots"><i></i><i></i><i></i></span><span class="ttext"></span></div>
<div class="faq" data-testid="sapa-faq-live" role="region" hidden><div class="faq-head"><span class="faq-label"></span>
<button class="faq-hide" type="button">${ICONS.x}</button></div><div class="faq-items"></div></div>
<div class="tray" data-testid="sapa-tray" hidden></div>
<form class="composer chat-form"><button class="attach" type="button" data-testid="sapa-attach">${ICONS.clip}</button>
<input class="fileinput" type="file" data-testid="sapa-file" multiple hidden>
<textarea data-testid="sapa-input" rows="1" maxlength="${MAX_BODY}"></textarea>
<button class="sendbtn" type="submit" data-testid="sapa-send" disabled>${ICONS.send}</button></form></div>
<div class="view" data-view="community" role="tabpanel" hidden>
<div class="clist"><p class="cintro"></p><div class="rooms"></div></div>
<div class="roomview" data-testid="sapa-room-view" hidden>
<div class="rhead"><button class="rback" type="button" data-testid="sapa-room-back">${ICONS.back}</button><div class="rtitle"></div></div>
<button class="pinned" type="button" data-testid="sapa-pinned" aria-expanded="false" hidden>${ICONS.pin}<div><div class="pl"></div><div class="pb"></div></div></button>
<div class="rbody"><div class="older" hidden></div><div class="rempty" hidden></div><div class="list" role="log" aria-live="polite"></div></div>
<div class="rfoot"><div class="err" data-testid="sapa-room-error" role="alert" hidden></div>
<div class="replying" hidden>${ICONS.reply}<span class="rq"></span><button class="faq-hide" type="button">${ICONS.x}</button></div>
<form class="nameform" hidden><label></label><input data-testid="sapa-name-input" maxlength="40" autocomplete="nickname">
<button class="btn" type="submit" data-testid="sapa-name-save"></button></form>
<div class="tray rtray" data-testid="sapa-room-tray" hidden></div>
<form class="composer"><button class="attach rattach" type="button" data-testid="sapa-room-attach" hidden>${ICONS.clip}</button>
<input class="rfileinput" type="file" data-testid="sapa-room-file" accept="image/*" multiple hidden>
<textarea data-testid="sapa-room-input" rows="1" maxlength="${MAX_BODY}"></textarea>
<button class="sendbtn" type="submit" data-testid="sapa-room-send" disabled>${ICONS.send}</button></form>
<div class="rnote"></div></div></div></div>
<div class="foot"><a class="help" data-testid="sapa-help-link" target="_blank" rel="noopener"></a>
<span aria-hidden="true">&middot;</span><span class="powered"></span></div>
<div class="lightbox" data-testid="sapa-lightbox" role="dialog" hidden><button type="button" data-testid="sapa-lightbox-close">${ICONS.x}</button></div></section>`;

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
    queue: null, // the latest `queue` frame of the conversation while it waits
    seq: 0,      // everything up to here is held: the resume point for `sync`
    rev: 0,      // the room's rev as of what is held: `sync` answers the edits since
    maxSeq: 0,   // highest seq seen at all, for `read`
    lastRead: 0, synced: false, historyLoaded: false,
    messages: {}, pendingEls: {}, inflight: {}, outbox: loadOutbox(),
    isOpen: false, unread: 0, conn: 'connecting', welcomed: false, ready: false,
    hasSession: false, stopped: false,
    tab: 'chat',       // 'chat' (the private conversation) or 'community' (public rooms)
    chatUnread: 0,     // agent messages that came while the Chat tab was not on screen
    prechat: false     // the pre-chat form stands in for the input
  };
  // Public rooms. Once the visitor has opened the Community tab they stay joined to every
  // room (rooms are few), so that unread counts keep up while they read something else.
  const community = {
    rooms: [],          // R, in the server's order (see newRoom)
    openId: null,       // the room on screen
    wanted: store.get('community') === true, // join at every welcome: this visitor uses it
    replyTo: null,      // the message being answered
    posting: false,     // a send is under way
    waiting: null, cmid: null, // the text last sent and its client_msg_id, reused by a retry
    // Photos for the next post, where the room takes visitors' images; each one's upload
    // id once uploaded (a post retried after a refusal does not upload them again).
    files: [], uploaded: new Map()
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
  const tray = []; // files chosen for the next message
  const blobs = {}; // local id -> File, for the outbox's files (not kept across reloads)
  const sessionWaiters = []; // identify() calls made before the first session
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
    return langOf(loader.locale) || langOf(document.documentElement.lang) ||
      langOf(state.config.locale) || 'id';
  }
  function t(key, vars) {
    const s = STRINGS[state.locale][key] || key;
    return s.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? vars[k] : ''));
  }

  // A system line in the widget's language, from its data (docs/protocol.md); a key this
  // widget does not know (a newer server) shows the server's own wording.
  function eventText(m) {
    const ev = m.event, key = ev && typeof ev.key === 'string' ? 'ev.' + ev.key : '';
    if (!key || !STRINGS[state.locale][key]) return String(m.body == null ? '' : m.body);
    return t(key, { name: (ev.agent && ev.agent.name) || '' });
  }

  // An author's name; a customer who never gave one is labelled in the widget's language.
  function who(a, fallback) {
    if (a && a.anonymous && a.label_id) return t('visitor', { id: a.label_id });
    return (a && a.name) || fallback || '';
  }

  // --------------------------------------------------------------------- UI
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text; // user data only ever goes through textContent
    return node;
  }

  // The loader's Shadow DOM already holds the launcher; the panel joins it.
  function mount() {
    const root = loader.root;
    root.appendChild(el('style', null, STYLE));
    loader.rootEl.insertAdjacentHTML('beforeend', HTML); // static markup, no user data
    const q = (sel) => root.querySelector(sel);
    ui = {
      root: loader.rootEl, launcher: loader.launcher, panel: q('.panel'),
      avatar: q('.avatar'), name: q('.name'), dot: q('.dot'), ptext: q('.ptext'), closeBtn: q('.hbtn'),
      tabs: q('.tabs'), tabChat: q('[data-tab=chat]'), tabCommunity: q('[data-tab=community]'),
      chatCount: q('[data-tab=chat] .count'), tabCount: q('[data-tab=community] .count'), chatView: q('[data-view=chat]'), communityView: q('[data-view=community]'),
      status: q('.status'), body: q('.body'), greetAuthor: q('.greet .author'), greet: q('.greet .bubble'),
      list: q('.body .list'), rating: q('.rating'), rtext: q('.rtext'), stars: q('.stars'), typing: q('.typing'), queue: q('.queue'),
      ttext: q('.ttext'), form: q('.chat-form'), input: q('[data-testid=sapa-input]'), send: q('[data-testid=sapa-send]'),
      faq: q('.faq'), faqLabel: q('.faq-label'), faqHide: q('.faq-hide'), faqItems: q('.faq-items'),
      help: q('.help'), powered: q('.powered'),
      pc: q('.prechat'), pcTitle: q('.pc-title'), pcName: q('[data-testid=sapa-prechat-name]'),
      pcEmail: q('[data-testid=sapa-prechat-email]'), pcConsent: q('[data-testid=sapa-prechat-consent]'),
      pcErr: q('.prechat .err'), pcSubmit: q('[data-testid=sapa-prechat-submit]'),
      away: q('[data-testid=sapa-away]'), ec: q('[data-testid=sapa-email-capture]'),
      ecTitle: q('.ec-title'), ecInput: q('[data-testid=sapa-email-input]'),
      ecConsent: q('[data-testid=sapa-email-consent]'), ecErr: q('.capture .err'),
      ecSubmit: q('[data-testid=sapa-email-submit]'), ecDone: q('[data-testid=sapa-email-done]'),
      transcript: q('[data-testid=sapa-transcript]'),
      clist: q('.clist'), cintro: q('.cintro'), rooms: q('.rooms'), roomView: q('.roomview'),
      back: q('.rback'), rtitle: q('.rtitle'), pinned: q('.pinned'), pl: q('.pl'), pb: q('.pb'),
      rbody: q('.rbody'), older: q('.older'), rempty: q('.rempty'), rlist: q('.rbody .list'),
      rerr: q('.rfoot .err'), replying: q('.replying'), rq: q('.rq'), rcancel: q('.replying button'),
      nameForm: q('.nameform'), nameLabel: q('.nameform label'), nameInput: q('.nameform input'),
      nameSave: q('.nameform button'), rform: q('.rfoot .composer'), rinput: q('.rfoot textarea'),
      rsend: q('.rfoot .sendbtn'), rnote: q('.rnote'),
      rtray: q('.rtray'), rattach: q('.rattach'), rfileInput: q('.rfileinput'),
      tray: q('.tray'), attach: q('.attach'), fileInput: q('.fileinput'),
      lightbox: q('.lightbox'), lightClose: q('.lightbox button')
    };
    bindUi();
    mountConversations();
    applyConfig();
    setTab(state.tab);
    state.outbox.forEach(renderPending);
    setUnread(state.unread);
    showQueue();
    if (loader.wantOpen) open();
  }

  function bindUi() {
    loader.onLauncher = (fromPreview) => setOpen(fromPreview ? true : !state.isOpen);
    ui.closeBtn.addEventListener('click', close);
    ui.form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
    enterSends(ui.input, submit);
    ui.input.addEventListener('input', onInput);
    for (const tab of [ui.tabChat, ui.tabCommunity]) {
      tab.addEventListener('click', () => setTab(tab.dataset.tab));
    }
    ui.tabs.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      setTab(state.tab === 'chat' ? 'community' : 'chat');
      (state.tab === 'chat' ? ui.tabChat : ui.tabCommunity).focus();
    });
    ui.pc.addEventListener('submit', (e) => { e.preventDefault(); submitPrechat(); });
    ui.ec.addEventListener('submit', (e) => { e.preventDefault(); submitEmail(); });
    ui.transcript.addEventListener('click', sendTranscript);
    bindFiles();
    bindCommunity();
    ui.panel.addEventListener('keydown', onPanelKey);
    if (window.matchMedia) {
      fullScreen = matchMedia('(max-width:480px)');
      if (fullScreen.addEventListener) fullScreen.addEventListener('change', setModal);
    }
    ui.faqHide.addEventListener('click', () => { ui.faq.hidden = true; ui.input.focus(); });
    for (let n = 1; n <= 5; n++) {
      const b = el('button', null, '\u2605');
      b.type = 'button';
      b.dataset.score = n;
      b.addEventListener('click', () => rate(n));
      ui.stars.appendChild(b);
    }
  }

  function enterSends(box, fn) {
    box.addEventListener('keydown', (e) => {
      // isComposing / 229: this Enter confirms an IME candidate and must not send.
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      fn();
    });
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
    ui.tabs.setAttribute('aria-label', t('tabs'));
    ui.tabChat.firstChild.textContent = t('tabChat');
    ui.tabCommunity.firstChild.textContent = t('tabCommunity');
    prechatLabels();
    communityLabels();
    setAccent(cfg.color);
    setPresence(cfg.agents_online);
    setConn(state.conn, state.conn === 'error' ? ui.status.textContent : null);
  }

  function setAccent(color) {
    if (!color || !window.CSS || !CSS.supports('color', color)) return;
    const on = isLight(color) ? '#111827' : '#fff';
    ui.root.style.setProperty('--accent', color);
    ui.root.style.setProperty('--on-accent', on);
    store.set('color', color); // the loader paints the launcher with it on the next page
    store.set('onColor', on);
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
    const hours = state.config.hours || {};
    const closed = hours.open === false;
    const on = !closed && (online === true || Number(online) > 0);
    ui.dot.classList.toggle('on', on);
    let text = closed ? backText(hours) : t(on ? 'online' : 'away');
    if (on && hours.reply_minutes) text += ` \u00b7 ${t('replyIn', { n: hours.reply_minutes })}`;
    ui.ptext.textContent = text;
    const away = state.config.away_message || {};
    const words = away[state.locale] || away.id || away.en || '';
    ui.away.textContent = words;
    ui.away.hidden = on || !words;
    maybeAskEmail();
  }

  // "Kembali pukul 08.00" / "Back at 08:00", from the server's reading of the shop's hours.
  function backText(hours) {
    if (!hours.reopens_local) return t('closed');
    const time = state.locale === 'id' ? hours.reopens_local.replace(':', '.') : hours.reopens_local;
    if (hours.reopens_in_days === 0) return t('backAt', { time });
    if (hours.reopens_in_days === 1) return t('backTomorrow', { time });
    let day = '';
    try {
      day = new Intl.DateTimeFormat(state.locale === 'id' ? 'id-ID' : 'en', {
        weekday: 'long', timeZone: hours.timezone || undefined
      }).format(new Date(hours.reopens_at));
    } catch (e) { return t('backAt', { time }); }
    return t('backOn', { day, time });
  }

  // A long session sees the shop open and close: when the boundary the server named
  // (closes_at while open, reopens_at while closed) passes, the hours are read again.
  let hoursTimer = null;
  function watchHours(retry) {
    clearTimeout(hoursTimer);
    const hours = state.config.hours || {};
    const at = Date.parse(hours.open ? hours.closes_at : hours.reopens_at);
    if (!retry && Number.isNaN(at)) return;
    // Timers sleep in background tabs and clocks drift: never wait more than an hour.
    const wait = retry ? 60000 : Math.min(Math.max(at - Date.now(), 0) + 1000, 3600000);
    hoursTimer = setTimeout(refreshHours, wait);
  }

  async function refreshHours() {
    if (!state.token || state.stopped) return;
    const res = await widgetPost('hours', {});
    if (!res.ok) return watchHours(true);
    Object.assign(state.config, res.data);
    setPresence(state.config.agents_online);
    watchHours();
  }

  // ---------------------------------------------------------- email capture
  // Asked once a conversation exists and nobody can answer now (out of hours, nobody
  // online), or when the shop's number of minutes passes without an answer.
  let captureTimer = null;
  function maybeAskEmail(force) {
    showTranscript();
    if (!ui || store.get('contact') || !state.roomId || state.prechat) return;
    const hours = state.config.hours || {};
    const nobody = hours.open === false || !(Number(state.config.agents_online) > 0);
    if (!(nobody || force)) return;
    if (!ui.ec.hidden) return;
    ui.ecTitle.textContent = t('ecTitle');
    ui.ecInput.setAttribute('placeholder', t('ecPh'));
    ui.ecInput.setAttribute('aria-label', t('pcEmail'));
    ui.ecConsent.nextSibling.textContent = t('ecConsent');
    ui.ecSubmit.textContent = t('ecSubmit');
    ui.ec.hidden = false;
    scrollDown();
  }

  function waitForAnswer() {
    clearTimeout(captureTimer);
    const minutes = Number((state.config.email_capture || {}).after_minutes) || 0;
    if (minutes > 0) captureTimer = setTimeout(() => maybeAskEmail(true), minutes * 60000);
  }

  async function submitEmail() {
    const email = ui.ecInput.value.trim();
    if (!EMAIL.test(email)) {
      ui.ecInput.setAttribute('aria-invalid', 'true');
      ui.ecErr.hidden = false;
      ui.ecErr.textContent = t('pcBadEmail');
      return ui.ecInput.focus();
    }
    ui.ecInput.setAttribute('aria-invalid', 'false');
    ui.ecSubmit.disabled = true;
    try {
      await request({ type: 'contact', email, consent: ui.ecConsent.checked });
    } catch (err) {
      ui.ecErr.hidden = false;
      ui.ecErr.textContent = t('ecFailed') + (err && err.message ? ` (${err.message})` : '');
      return;
    } finally {
      ui.ecSubmit.disabled = false;
    }
    store.set('contact', email);
    ui.ec.hidden = true;
    ui.ecErr.hidden = true;
    ui.ecDone.textContent = t('ecDone', { email });
    ui.ecDone.hidden = false;
    showTranscript();
  }

  // Once the shopper left an address, they may have the conversation mailed to it.
  function showTranscript() {
    if (!ui) return;
    ui.transcript.hidden = !(store.get('contact') && state.roomId);
    ui.transcript.textContent = t('transcript');
  }

  async function sendTranscript() {
    ui.transcript.disabled = true;
    const res = await widgetPost('transcript', {});
    ui.transcript.disabled = false;
    ui.ecDone.hidden = false;
    ui.ecDone.textContent = res.ok ? t('transcriptSent', { email: store.get('contact') }) : t('ecFailed');
  }

  function setConn(conn, text) {
    state.conn = conn;
    if (!ui) return;
    ui.status.dataset.state = conn;
    ui.status.textContent = text || t(conn);
  }

  function setUnread(n) {
    state.unread = n;
    loader.badge(n);
    if (!n) loader.preview(null);
  }

  // The closed launcher shows the newest unread agent message.
  function previewLast() {
    if (state.isOpen || !state.unread) return;
    let last = null;
    for (const id in state.messages) {
      const m = state.messages[id];
      if (m.kind === 'text' && m.author && m.author.kind === 'agent' && (!last || m.seq > last.seq)) last = m;
    }
    if (last) loader.preview(last.author.name || t('agent'), last.body);
  }

  // Message text with its web addresses as links. Built node by node (never innerHTML),
  // and only http(s) addresses become links, opening apart from the shop's page.
  const URLS = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  function linked(body) {
    const frag = document.createDocumentFragment();
    const text = String(body == null ? '' : body);
    let at = 0;
    for (const match of text.matchAll(URLS)) {
      let raw = match[0];
      // "see https://x.test/a." or "(https://x.test/a)": the sentence's mark is not the link's
      while (/[.,;:!?'"\]}]$/.test(raw) || (raw.endsWith(')') && !raw.includes('('))) raw = raw.slice(0, -1);
      let url = null;
      try { url = new URL(raw); } catch (e) { /* left as text */ }
      if (!url || !/^https?:$/.test(url.protocol)) continue;
      if (match.index > at) frag.appendChild(document.createTextNode(text.slice(at, match.index)));
      const a = el('a', 'link', raw);
      a.href = url.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      frag.appendChild(a);
      at = match.index + raw.length;
    }
    if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
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
      node.textContent = `${eventText(m)} \u00b7 ${hhmm(m.created_at)}`;
      return node;
    }
    if (isOwn(m)) node.classList.add('own');
    else node.appendChild(el('div', 'author', who(m.author, t('agent'))));
    if (m.attachments && m.attachments.length) node.appendChild(buildFiles(m.attachments));
    if (m.body) node.appendChild(el('div', 'bubble')).appendChild(linked(m.body));
    const meta = node.appendChild(el('div', 'meta'));
    const time = meta.appendChild(el('time', null, hhmm(m.created_at)));
    if (m.created_at) time.dateTime = m.created_at;
    if (isOwn(m)) meta.appendChild(el('span'));
    return node;
  }

  // Unsend and edit: a tombstone or an "(edited)" mark, and the sender's own actions.
  const EDIT_MS = 15 * 60 * 1000;

  function decorate(node, m) {
    const meta = node.querySelector('.meta, .rmeta');
    if (m.deleted) {
      node.classList.add('gone');
      for (const x of node.querySelectorAll('.bubble, .files, .acts, .editor')) x.remove();
      node.insertBefore(el('div', 'bubble', t('msgDeleted')), meta);
      return;
    }
    if (m.edited_at && meta && !meta.querySelector('.edited')) {
      meta.insertBefore(el('em', 'edited', t('edited')), meta.firstChild);
    }
    // In a public room only the visitor's own posts (everyone there is a customer).
    const mine = node.classList.contains('rmsg') ? isMine(m) : isOwn(m);
    if (mine && m.kind === 'text' && m.id && node.classList.contains('own') && !node.querySelector('.acts')) {
      node.appendChild(buildActions(node, m));
    }
  }

  // The message as held now (a private one, or a public room's).
  function heldNow(m) {
    const R = roomOf(m.room_id);
    return (R ? R.msgs[m.id] : state.messages[m.id]) || m;
  }

  function buildActions(node, m) {
    const acts = el('div', 'acts');
    if (Date.now() - Date.parse(m.created_at) < EDIT_MS && m.body) {
      const edit = acts.appendChild(el('button', null, t('edit')));
      edit.type = 'button';
      edit.dataset.testid = 'sapa-edit';
      edit.addEventListener('click', () => startEdit(node, heldNow(m)));
    }
    const del = acts.appendChild(el('button', null, t('del')));
    del.type = 'button';
    del.dataset.testid = 'sapa-unsend';
    const reset = () => { delete del.dataset.confirm; del.textContent = t('del'); };
    del.addEventListener('blur', reset);
    del.addEventListener('keydown', (e) => { if (e.key === 'Escape') reset(); });
    del.addEventListener('click', () => {
      if (!del.dataset.confirm) { del.dataset.confirm = '1'; del.textContent = t('delSure'); return; }
      request({ type: 'unsend', message_id: m.id }).then((ack) => onMessageUpdate(ack.message), () => reset());
    });
    return acts;
  }

  function startEdit(node, m) {
    if (node.querySelector('.editor')) return;
    const bubble = node.querySelector('.bubble');
    const form = el('form', 'editor');
    const box = form.appendChild(el('textarea'));
    box.value = m.body;
    box.rows = 2;
    box.maxLength = 4000;
    box.setAttribute('aria-label', t('edit'));
    box.dataset.testid = 'sapa-edit-box';
    const err = form.appendChild(el('div', 'err'));
    err.setAttribute('role', 'alert');
    const row = form.appendChild(el('div', 'row'));
    const cancel = row.appendChild(el('button', null, t('cancelEdit')));
    cancel.type = 'button';
    const save = row.appendChild(el('button', null, t('save')));
    save.type = 'submit';
    save.dataset.testid = 'sapa-edit-save';
    const close = () => { form.remove(); if (bubble) bubble.hidden = false; };
    cancel.addEventListener('click', close);
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.stopPropagation(); close(); }
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = box.value;
      if (!body.trim() || body === m.body) return close();
      request({ type: 'edit', message_id: m.id, body }).then((ack) => onMessageUpdate(ack.message), (f) => {
        err.textContent = f && f.code === 'too_late' ? t('tooLate') : t('eOther', { msg: (f && (f.message || f.code)) || '' });
      });
    });
    if (bubble) bubble.hidden = true;
    node.insertBefore(form, node.querySelector('.meta, .rmeta'));
    box.focus();
  }

  // `message_update` (and the ack of our own edit or unsend): the message as it is now.
  function onMessageUpdate(m) {
    if (!m || m.kind === 'note') return;
    const R = roomOf(m.room_id);
    if (R) {
      if (!R.msgs[m.id]) return;
      R.msgs[m.id] = m;
      const old = ui && R.id === community.openId && nodeOf(m.id);
      if (old) {
        old.replaceWith(buildRoomMessage(R, m));
      }
      return;
    }
    if (m.room_id !== state.roomId || !state.messages[m.id]) return;
    state.messages[m.id] = m;
    const old = ui && ui.list.querySelector(`[data-id="${CSS.escape(m.id)}"]`);
    if (!old) return;
    const fresh = buildMessage(m);
    fresh.dataset.id = m.id;
    fresh.dataset.seq = m.seq;
    if (m.client_msg_id) fresh.dataset.clientMsgId = m.client_msg_id;
    setState(fresh, 'sent');
    decorate(fresh, m);
    old.replaceWith(fresh);
  }

  function setState(node, st) {
    node.dataset.state = st;
    const icon = node.querySelector('.meta span');
    if (!icon) return;
    icon.innerHTML = ICONS[st]; // static icon markup
    icon.setAttribute('role', 'img');
    icon.title = t(st);
    icon.setAttribute('aria-label', t(st));
  }

  function renderPending(entry) {
    if (!ui || state.pendingEls[entry.client_msg_id]) return;
    const node = buildMessage({ body: entry.body, author: { kind: 'customer' }, created_at: entry.created_at });
    node.dataset.clientMsgId = entry.client_msg_id;
    if (entry.files && entry.files.length) {
      node.insertBefore(buildLocalFiles(entry.files), node.querySelector('.bubble, .meta'));
      const bar = node.appendChild(el('progress'));
      bar.dataset.testid = 'sapa-upload-progress';
      bar.max = 1;
      bar.value = 0;
    }
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
      // The server's files (signed links, thumbnails) replace the local previews.
      const local = node.querySelector('.files');
      if (local && m.attachments) local.replaceWith(buildFiles(m.attachments));
      const bar = node.querySelector('progress');
      if (bar) bar.remove();
    } else {
      node = buildMessage(m);
    }
    node.dataset.id = m.id;
    node.dataset.seq = m.seq;
    if (m.client_msg_id) node.dataset.clientMsgId = m.client_msg_id;
    setState(node, 'sent');
    decorate(node, m);
    place(node, m.seq);
    if (faq.cards[m.id]) renderCard(m.id); // its suggestions came first
  }

  // Keep the list in seq order with unsent messages last. Scan from the end:
  // nearly every message is the newest one.
  function place(node, seq, list, scroller) {
    list = list || ui.list;
    scroller = scroller || ui.body;
    const stick = nearBottom(scroller);
    let ref = null;
    for (let c = list.lastChild; c; c = c.previousSibling) {
      if (c === node) continue;
      if (c.dataset.seq != null && Number(c.dataset.seq) < seq) break;
      ref = c;
    }
    list.insertBefore(node, ref);
    if (stick) scrollDown(scroller);
  }

  function nearBottom(b) {
    b = b || ui.body;
    return b.scrollHeight - b.scrollTop - b.clientHeight < 80;
  }
  function scrollDown(b) {
    b = b || ui.body;
    b.scrollTop = b.scrollHeight;
  }

  // ------------------------------------------------------------ open/close
  function setOpen(flag) {
    if (flag === state.isOpen) return;
    state.isOpen = loader.wantOpen = flag;
    // Per tab: a reload or the shop's next page shows the panel as it was left.
    try {
      if (flag) sessionStorage.setItem(`sapa:${SITE}:open`, 'true');
      else sessionStorage.removeItem(`sapa:${SITE}:open`);
    } catch (e) { /* not kept */ }
    if (!ui) return; // mount() applies it
    const hadFocus = ui.panel.contains(loader.root.activeElement);
    ui.root.classList.toggle('open', flag);
    ui.launcher.setAttribute('aria-expanded', String(flag));
    ui.launcher.setAttribute('aria-label', t(flag ? 'close' : 'open'));
    setModal();
    if (flag) {
      connect();
      setUnread(0);
      if (state.tab === 'chat') setChatUnread(0);
      scrollDown();
      focusInput();
      // Never leave focus on a launcher that the full-screen panel hides.
      if (!ui.panel.contains(loader.root.activeElement)) ui.panel.focus();
      markRead();
      markSeen();
    } else {
      stopTyping();
      if (hadFocus) ui.launcher.focus(); // back where the shopper came from
    }
    emit(flag ? 'open' : 'close');
  }

  // On a phone the panel covers the page: a modal dialog that keeps focus inside.
  let fullScreen = null;
  function setModal() {
    if (!ui) return;
    const modal = state.isOpen && !!fullScreen && fullScreen.matches;
    if (modal) ui.panel.setAttribute('aria-modal', 'true');
    else ui.panel.removeAttribute('aria-modal');
  }

  function onPanelKey(e) {
    if (e.key === 'Escape') { e.stopPropagation(); return setOpen(false); }
    if (e.key !== 'Tab' || ui.panel.getAttribute('aria-modal') !== 'true') return;
    const stops = Array.from(ui.panel.querySelectorAll('button,textarea,input,a[href],[tabindex="0"]'))
      .filter((n) => !n.disabled && n.getClientRects().length && n.tabIndex >= 0);
    if (!stops.length) return;
    const first = stops[0], last = stops[stops.length - 1], at = loader.root.activeElement;
    if (e.shiftKey && (at === first || at === ui.panel)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && at === last) { e.preventDefault(); first.focus(); }
  }
  const open = () => setOpen(true);
  const close = () => setOpen(false);

  // On touch devices focusing pops the keyboard over the conversation.
  function focusInput() {
    if (!ui || !state.isOpen) return;
    if (window.matchMedia && matchMedia('(pointer:fine)').matches) {
      const box = state.tab !== 'chat' ? community.openId && ui.rinput
        : state.prechat ? ui.pc.querySelector('label:not([hidden]) input') : ui.input;
      if (box) box.focus();
    }
    // Focus left on something just hidden (a sent form, a closed view) goes to the panel.
    const at = loader.root.activeElement;
    if (at && at !== ui.panel && ui.panel.contains(at) && !at.getClientRects().length) ui.panel.focus();
  }

  // The tab bar shows only when the site has public rooms.
  function setTab(tab) {
    if (!ui) return;
    if (!community.rooms.length) tab = 'chat';
    const changed = tab !== state.tab;
    state.tab = tab;
    ui.tabChat.setAttribute('aria-selected', String(tab === 'chat'));
    ui.tabCommunity.setAttribute('aria-selected', String(tab === 'community'));
    ui.tabChat.tabIndex = tab === 'chat' ? 0 : -1;
    ui.tabCommunity.tabIndex = tab === 'chat' ? -1 : 0;
    ui.chatView.hidden = tab !== 'chat';
    ui.communityView.hidden = tab !== 'community';
    if (tab === 'chat' && state.isOpen) setChatUnread(0);
    if (!changed) return;
    if (tab === 'chat') {
      scrollDown();
      markRead();
    } else enterCommunity();
    focusInput();
  }

  function setChatUnread(n) {
    state.chatUnread = n;
    if (!ui) return;
    ui.chatCount.textContent = count(n);
    ui.chatCount.hidden = !n;
    ui.chatCount.setAttribute('aria-label', t('cUnread', { n }));
  }

  // ----------------------------------------------------------- connection
  // `starting` keeps a second session POST from racing the first (it would mint a
  // second anonymous customer).
  // The first reason to talk to the server: the panel opened, identify(), or a
  // conversation in progress. Until then a page view costs no session and no socket.
  let wanted = false;
  function connect() {
    if (wanted) return;
    wanted = true;
    start();
  }
  const inProgress = () => (!!store.get('live') && !!state.token) || state.outbox.length > 0;

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
    const shopper = shopperGen;
    const res = await fetch(`${ORIGIN}/api/widget/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body), credentials: 'omit'
    });
    if (!res.ok) throw { status: res.status };
    const data = await res.json();
    if (shopper !== shopperGen) throw { status: 0 }; // reset() meanwhile: not for this shopper
    state.token = data.token;
    store.set('token', data.token);
    switchCustomer(data.customer_id);
    state.config = data.config || {};
    state.hasSession = true;
    applyConfig();
    const rooms = state.config.rooms || [];
    setRooms(rooms);
    checkPrechat(rooms);
    const waiting = sessionWaiters.splice(0);
    waiting.forEach((fn) => fn());
  }

  // A new session after 4401 may be another customer, whose history is not ours.
  function switchCustomer(id) {
    if (state.customerId && id !== state.customerId) {
      resetConversation();
      resetCommunity();
    }
    state.customerId = id;
  }

  // Forget the private conversation held here; the next welcome loads it again.
  function resetConversation() {
    Object.assign(state, {
      roomId: null, room: null, queue: null, seq: 0, rev: 0, maxSeq: 0, lastRead: 0, messages: {},
      historyLoaded: false
    });
    for (const mid in faq.cards) if (!faq.cards[mid].roomId) delete faq.cards[mid];
    if (!ui) return;
    // Messages and their FAQ cards (which carry their message's seq).
    for (const c of Array.from(ui.list.children)) if (c.dataset.seq != null) c.remove();
    showRating(false);
    showQueue();
    showNewConversation();
    showTranscript(); // nothing to mail until the new conversation's first message
  }

  function openSocket() {
    if (ws || state.stopped) return;
    let sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { return scheduleRetry(); }
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', token: state.token }));
    sock.onmessage = (ev) => { if (ws === sock) onFrame(parse(ev.data)); };
    sock.onclose = (ev) => { if (ws === sock) dropSocket(ev.code, ev.reason); };
  }

  function parse(data) { try { return JSON.parse(data); } catch (e) { return null; } }

  function dropSocket(code, reason) {
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
    for (const R of community.rooms) R.joined = false; // joins last as long as their socket
    if (code === 4403) return fail('error');
    if (code === 4401) {
      if (reason === 'erased') forgetShopper(); // the shop erased this shopper's data
      // Another tab may have stored a new token meanwhile (identify, reset): that one stays.
      if (store.get('token') === state.token) {
        store.del('token');
        store.del('live');
      }
      state.token = store.get('token');
      state.hasSession = false;
    }
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
    if (state.stopped || !wanted) return;
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
      case 'withdrawn': return onWithdrawn(f);
      case 'message_update': return onMessageUpdate(f.message);
      case 'muted': return onMuted(f);
      case 'queue': return onQueue(f);
    }
  }

  // The shopper's place in line while the conversation waits (sites that route
  // automatically). Frames from several server processes may cross: the highest
  // version is the latest.
  function onQueue(f) {
    if (!f || (state.roomId && f.room_id !== state.roomId)) return;
    const held = state.queue;
    if (held && held.room_id === f.room_id && held.version > f.version) return;
    state.queue = f;
    showQueue();
  }

  function showQueue() {
    if (!ui) return;
    const q = state.queue;
    const waiting = q && state.room && state.room.id === q.room_id && state.room.status === 'queued' &&
      !(state.room.assignee);
    ui.queue.hidden = !waiting;
    if (!waiting) return;
    const minutes = q.eta_seconds == null ? null : Math.max(1, Math.round(q.eta_seconds / 60));
    const one = minutes === 1 && STRINGS[state.locale].queueEta1;
    const key = minutes == null ? 'queue' : one ? 'queueEta1' : 'queueEta';
    ui.queue.textContent = t(key, { n: q.position, m: minutes });
    ui.queue.dataset.position = String(q.position);
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
    setPast(f.past_conversations);
    if (f.hours) state.config.hours = f.hours; // read again at every (re)connect
    if (f.agents_online != null || f.hours) setPresence(f.agents_online ?? state.config.agents_online);
    watchHours();
    state.welcomed = true;
    setConn('connected');
    setRooms(f.rooms || []);
    checkPrechat(f.rooms || []);
    if (community.wanted) joinRooms();
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
    previewLast();
    if (!state.ready) { state.ready = true; emit('ready'); }
  }

  // Pages advance a local cursor: live events during the sync may run ahead of it,
  // and notes leave gaps in seq, so only a finished page proves what is held.
  async function syncHistory() {
    const roomId = state.roomId;
    if (!roomId) return;
    let after = state.seq, more = true;
    while (more) {
      const ack = await request({ type: 'sync', room_id: roomId, after_seq: after, limit: 200, since_rev: state.rev });
      const msgs = ack.messages || [];
      for (const m of msgs) { onMessage(m, false); after = Math.max(after, m.seq); }
      // Edited or unsent while we were away: their `message_update` never reached us.
      const updates = ack.updates || [];
      updates.forEach(onMessageUpdate);
      if (typeof ack.rev === 'number' && state.roomId === roomId) state.rev = ack.rev;
      state.seq = Math.max(state.seq, after);
      more = ack.has_more && (msgs.length > 0 || updates.length > 0);
    }
  }

  function adoptRoom(room, fromWelcome) {
    if (state.roomId && room.id !== state.roomId) return;
    const prev = state.room;
    state.roomId = room.id;
    state.room = room;
    if (room.queue) onQueue(room.queue);
    showQueue();
    showTranscript();
    // Remembered so that the next page load connects at once and shows unread replies.
    if (room.status === 'resolved') store.del('live'); else store.set('live', true);
    // The server counts agent messages past our read mark, which survives reloads.
    if (fromWelcome && !state.isOpen && typeof room.unread === 'number') setUnread(room.unread);
    const resolved = room.status === 'resolved';
    const fresh = !prev || prev.status !== 'resolved';
    if (!resolved) showRating(false);
    else if (fresh && !store.get(`rated:${room.id}:${room.updated_at}`)) showRating(true);
    showNewConversation();
  }

  function onRoom(room) {
    if (room && room.kind === 'public') return onPublicRoom(room);
    if (!room || room.kind !== 'private') return;
    if (room.superseded_at) return onPastRoom(room);
    if (!state.roomId && room.customer_id && room.customer_id !== state.customerId) return;
    adoptRoom(room, false);
  }

  function onMessage(m, live) {
    if (!m || m.kind === 'note') return;
    if (roomOf(m.room_id)) return onRoomMessage(m, live);
    if (isPast(m.room_id)) return onPastMessage(m); // a conversation left behind: read-only
    // Until public rooms are joined, only our private room's events reach us.
    if (!state.roomId) state.roomId = m.room_id;
    if (m.room_id !== state.roomId) return;
    if (live && state.synced) state.seq = Math.max(state.seq, m.seq);
    state.maxSeq = Math.max(state.maxSeq, m.seq);
    if (isOwn(m) && m.client_msg_id) removeFromOutbox(m.client_msg_id);
    if (live && isOwn(m)) { waitForAnswer(); maybeAskEmail(); }
    if (m.author && m.author.kind === 'agent' && m.kind === 'text') clearTimeout(captureTimer);
    if (state.messages[m.id]) return;
    state.messages[m.id] = m;
    if (ui) renderMessage(m);
    const fromAgent = m.author && m.author.kind === 'agent';
    if (fromAgent && ui && ui.ttext.dataset.author === m.author.id) showTyping(null);
    if (!live && !state.historyLoaded) return; // the first history load is not news
    // With the server's unread count, messages caught up by sync are already counted.
    const counted = !live && state.room && typeof state.room.unread === 'number';
    if (fromAgent && !state.isOpen && !counted) setUnread(state.unread + 1);
    if (fromAgent && !state.isOpen && m.kind === 'text') loader.preview(m.author.name || t('agent'), m.body);
    if (fromAgent && live && (!state.isOpen || state.tab !== 'chat')) setChatUnread(state.chatUnread + 1);
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
    if (!state.isOpen || state.tab !== 'chat' || document.visibilityState === 'hidden') return;
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
    const files = tray.splice(0);
    // maxlength counts UTF-16 units, so a typed body never exceeds the server's limit.
    if ((!body.trim() && !files.length) || state.stopped || state.prechat || state.outbox.length >= MAX_OUTBOX) {
      tray.push(...files);
      return;
    }
    ui.input.value = '';
    renderTray();
    onInput();
    const entry = { client_msg_id: uuid(), body, created_at: new Date().toISOString() };
    if (files.length) {
      // The outbox (localStorage) keeps what each file is; its bytes stay in this page.
      entry.files = files.map((f) => {
        const local = uuid();
        blobs[local] = f;
        return { local, name: f.name || 'image.png', type: f.type, size: f.size, id: null };
      });
    }
    state.outbox.push(entry);
    saveOutbox();
    renderPending(entry);
    sendEntry(entry);
  }

  function flushOutbox() { state.outbox.slice().forEach(sendEntry); }

  // No room_id: the server picks our private room, creating it on the first send.
  async function sendEntry(entry) {
    const id = entry.client_msg_id;
    // A retry of an entry reset() dropped must not go out as the next shopper's message.
    if (!state.welcomed || state.inflight[id] || !state.outbox.includes(entry)) return;
    state.inflight[id] = true;
    try {
      if (entry.files && !(await uploadAll(entry))) return;
      const frame = { type: 'send', client_msg_id: id, body: entry.body };
      if (entry.files) frame.attachments = entry.files.map((f) => f.id);
      const ack = await request(frame);
      if (ack.message) onMessage(Object.assign({ client_msg_id: id }, ack.message), true);
      removeFromOutbox(id);
      for (const f of entry.files || []) delete blobs[f.local];
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

  function markFailed(id, why) {
    const entry = state.outbox.find((e) => e.client_msg_id === id);
    removeFromOutbox(id);
    const node = state.pendingEls[id];
    delete state.pendingEls[id];
    if (!node) return;
    setState(node, 'failed');
    const bar = node.querySelector('progress');
    if (bar) bar.remove();
    if (why) node.appendChild(el('div', 'meta', why)).dataset.testid = 'sapa-failed-reason';
    // A message with files fails visibly and can be sent again while its files are here.
    if (entry && entry.files && entry.files.every((f) => f.id || blobs[f.local])) {
      const again = node.appendChild(el('button', 'retrybtn', t('retry')));
      again.type = 'button';
      again.dataset.testid = 'sapa-retry';
      again.addEventListener('click', () => {
        again.remove();
        const reason = node.querySelector('[data-testid=sapa-failed-reason]');
        if (reason) reason.remove();
        entry.tries = 0;
        state.outbox.push(entry);
        saveOutbox();
        state.pendingEls[id] = node;
        setState(node, 'sending');
        sendEntry(entry);
      });
    }
  }

  // ------------------------------------------------------------------ files
  // Attach (button, paste, drop) into a tray shown above the composer; the text typed
  // is the caption. Each file is uploaded (with progress) before its message is sent.
  const UPLOAD_TRIES = 5;

  function bindFiles() {
    const coarse = window.matchMedia && matchMedia('(pointer:coarse)').matches;
    // On a phone: the camera and the gallery. Elsewhere also PDFs and text files.
    ui.fileInput.accept = coarse ? 'image/*' : 'image/*,application/pdf,text/plain,.pdf,.txt';
    ui.attach.addEventListener('click', () => ui.fileInput.click());
    ui.fileInput.addEventListener('change', () => {
      addFiles(ui.fileInput.files);
      ui.fileInput.value = '';
    });
    ui.input.addEventListener('paste', (e) => {
      const files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        addFiles(files);
      }
    });
    ui.panel.addEventListener('dragover', (e) => {
      if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
      e.preventDefault();
      ui.panel.classList.add('dropping');
    });
    ui.panel.addEventListener('dragleave', () => ui.panel.classList.remove('dropping'));
    ui.panel.addEventListener('drop', (e) => {
      ui.panel.classList.remove('dropping');
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      e.preventDefault();
      if (state.tab !== 'chat' && roomTakesImages()) return addRoomFiles(e.dataTransfer.files);
      if (state.tab !== 'chat') setTab('chat');
      addFiles(e.dataTransfer.files);
    });
    ui.lightClose.addEventListener('click', closeLightbox);
    ui.lightbox.addEventListener('click', (e) => { if (e.target === ui.lightbox) closeLightbox(); });
    ui.lightbox.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); closeLightbox(); } });
    ui.attach.title = t('attach');
    ui.attach.setAttribute('aria-label', t('attach'));
  }

  function addFiles(list) {
    for (const f of Array.from(list || [])) if (tray.length < 10) tray.push(f);
    renderTray();
    ui.send.disabled = state.stopped;
    ui.input.focus();
  }

  // The chat's tray, or (`box`, `list`, `changed`) the open room's.
  function renderTray(box = ui.tray, list = tray, changed = onInput) {
    box.textContent = '';
    box.hidden = !list.length;
    list.forEach((f, i) => {
      const chip = box.appendChild(el('div', 'chip'));
      chip.dataset.testid = 'sapa-tray-item';
      if (/^image\//.test(f.type)) {
        const img = chip.appendChild(el('img'));
        img.alt = f.name || t('image');
        img.src = URL.createObjectURL(f);
      } else {
        chip.appendChild(el('span', 'nm', f.name));
      }
      const x = chip.appendChild(el('button'));
      x.type = 'button';
      x.innerHTML = ICONS.x; // static icon
      x.setAttribute('aria-label', t('removeFile', { name: f.name || t('image') }));
      x.addEventListener('click', () => { list.splice(i, 1); renderTray(box, list, changed); changed(); });
    });
  }

  const abs = (url) => (/^https?:/.test(url) ? url : ORIGIN + url);

  function buildFiles(files) {
    const box = el('div', 'files');
    for (const f of files) {
      if (/^image\//.test(f.type) && f.url) {
        const b = box.appendChild(el('button', 'thumb'));
        b.type = 'button';
        b.dataset.testid = 'sapa-image';
        b.setAttribute('aria-label', t('openImage', { name: f.name }));
        const img = b.appendChild(el('img'));
        img.alt = f.name;
        img.loading = 'lazy';
        img.src = abs(f.thumb_url || f.url);
        if (f.width && f.height) { img.width = Math.min(220, f.width); img.height = Math.round(img.width * f.height / f.width); }
        b.addEventListener('click', () => openLightbox(abs(f.url), f.name));
      } else if (f.url) {
        const a = box.appendChild(el('a', 'file'));
        a.dataset.testid = 'sapa-file-link';
        a.href = abs(f.url);
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.insertAdjacentHTML('afterbegin', ICONS.doc); // static icon
        a.appendChild(el('span', null, f.name));
      }
    }
    return box;
  }

  function buildLocalFiles(files) {
    const box = el('div', 'files');
    for (const f of files) {
      const blob = blobs[f.local];
      if (blob && /^image\//.test(f.type)) {
        const img = box.appendChild(el('span', 'thumb')).appendChild(el('img'));
        img.alt = f.name;
        img.src = URL.createObjectURL(blob);
      } else {
        const chip = box.appendChild(el('span', 'file'));
        chip.insertAdjacentHTML('afterbegin', ICONS.doc); // static icon
        chip.appendChild(el('span', null, f.name));
      }
    }
    return box;
  }

  function openLightbox(url, name) {
    const img = el('img');
    img.src = url;
    img.alt = name;
    closeLightbox();
    ui.lightbox.prepend(img);
    ui.lightbox.setAttribute('aria-label', name);
    ui.lightClose.setAttribute('aria-label', t('closeImage'));
    ui.lightbox.hidden = false;
    ui.lightClose.focus();
  }

  function closeLightbox() {
    ui.lightbox.hidden = true;
    const img = ui.lightbox.querySelector('img');
    if (img) img.remove();
  }

  // Upload the entry's files not uploaded yet; false when the message cannot go now.
  async function uploadAll(entry) {
    const id = entry.client_msg_id;
    for (const [i, f] of entry.files.entries()) {
      if (f.id) continue;
      const blob = blobs[f.local];
      if (!blob) { markFailed(id, t('fileLost')); return false; }
      const res = await uploadFile(blob, f.name, (part) => progress(id, (i + part) / entry.files.length));
      if (res.ok && res.data && res.data.attachment) {
        f.id = res.data.attachment.id;
        saveOutbox();
        continue;
      }
      const err = (res.data && res.data.error) || {};
      if (res.status === 400 || res.status === 413 || res.status === 403) {
        markFailed(id, err.message || t('failed'));
        return false;
      }
      // Too many uploads: the server says how long to wait, and the outbox waits that long.
      if (res.status === 429 && err.retry_after > 0) {
        setTimeout(() => sendEntry(entry), err.retry_after * 1000);
        return false;
      }
      // Offline or the server away: the outbox keeps it and tries again.
      entry.tries = (entry.tries || 0) + 1;
      if (entry.tries >= UPLOAD_TRIES) { markFailed(id, err.message || t('failed')); return false; }
      setTimeout(() => sendEntry(entry), 2000 * entry.tries);
      return false;
    }
    progress(id, 1);
    return true;
  }

  function progress(id, value) {
    const node = state.pendingEls[id];
    const bar = node && node.querySelector('progress');
    if (bar) bar.value = value;
  }

  function uploadFile(blob, name, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${ORIGIN}/api/widget/uploads`);
      xhr.setRequestHeader('Authorization', `Bearer ${state.token}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        resolve({ ok: xhr.status === 201, status: xhr.status, data });
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = () => resolve({ ok: false, status: 0, data: null });
      const form = new FormData();
      form.append('file', blob, name);
      xhr.send(form);
    });
  }

  function grow(box) {
    box.style.height = 'auto';
    box.style.height = Math.min(box.scrollHeight, 120) + 'px';
  }

  function onInput() {
    const input = ui.input;
    grow(input);
    ui.send.disabled = (!input.value.trim() && !tray.length) || state.stopped;
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

  // --------------------------------------------------------------- pre-chat
  // Asked once per site (remembered), before a visitor's first conversation, when the
  // shop turned it on. Name is required when asked; email is optional unless it is the
  // only field. The form stands in for the input until it is sent.
  const EMAIL = /^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$/;

  function prechatConfig() {
    const pc = state.config.prechat;
    if (!pc || !pc.enabled) return null;
    const fields = (Array.isArray(pc.fields) ? pc.fields : []).filter((f) => f === 'name' || f === 'email');
    return fields.length || pc.consent ? { fields, consent: !!pc.consent } : null;
  }
  const emailRequired = (fields) => fields.length === 1 && fields[0] === 'email';

  function checkPrechat(rooms) {
    const started = state.roomId || rooms.some((r) => r && r.kind === 'private') || state.outbox.length;
    showPrechat(!!prechatConfig() && !started && !store.get('prechat'));
  }

  function showPrechat(show) {
    const was = state.prechat;
    state.prechat = show;
    if (!ui) return;
    const cfg = prechatConfig() || { fields: [], consent: false };
    ui.pc.hidden = !show;
    ui.form.hidden = show;
    if (show) hideLive();
    for (const field of ui.pc.querySelectorAll('.field')) field.hidden = !cfg.fields.includes(field.dataset.field);
    ui.pcConsent.parentNode.hidden = !cfg.consent;
    prechatLabels();
    if (show !== was) {
      scrollDown();
      focusInput();
    }
  }

  function prechatLabels() {
    if (!ui) return;
    const cfg = prechatConfig() || { fields: [] };
    ui.pcTitle.textContent = t('pcTitle');
    ui.pc.querySelector('[data-field=name] span').textContent = t('pcName');
    ui.pc.querySelector('[data-field=email] span').textContent =
      t(emailRequired(cfg.fields) ? 'pcEmail' : 'pcEmailOpt');
    ui.pcConsent.nextSibling.textContent = t('pcConsent');
    ui.pcSubmit.textContent = t('pcSubmit');
  }

  async function submitPrechat() {
    const cfg = prechatConfig();
    if (!cfg) return showPrechat(false);
    if (ui.pcSubmit.disabled) return;
    const name = ui.pcName.value.trim(), email = ui.pcEmail.value.trim();
    const asks = (f) => cfg.fields.includes(f);
    const [problem, field] =
      asks('name') && !name ? ['pcNeedName', ui.pcName]
        : asks('email') && !email && emailRequired(cfg.fields) ? ['pcNeedEmail', ui.pcEmail]
          : asks('email') && email && !EMAIL.test(email) ? ['pcBadEmail', ui.pcEmail] : [];
    ui.pcName.setAttribute('aria-invalid', String(field === ui.pcName));
    ui.pcEmail.setAttribute('aria-invalid', String(field === ui.pcEmail));
    if (problem) {
      prechatError(t(problem));
      return field.focus();
    }
    const body = {};
    if (asks('name')) body.name = name;
    if (asks('email') && email) body.email = email;
    if (cfg.consent) body.marketing_consent = ui.pcConsent.checked;
    prechatError(null);
    ui.pcSubmit.disabled = true;
    const res = await widgetPost('prechat', body);
    ui.pcSubmit.disabled = false;
    // The server's reason is English; it follows our own sentence.
    if (!res.ok) return prechatError(t('pcFailed') + (res.message ? ` (${res.message})` : ''));
    store.set('prechat', true);
    if (body.name) store.set('pcname', body.name); // offered later as the community name
    showPrechat(false);
  }

  function prechatError(text) {
    ui.pcErr.hidden = !text;
    ui.pcErr.textContent = text || '';
  }

  // The widget's HTTP calls (prechat, identify): bearer token, JSON both ways. Answers
  // {ok, status, data, code, message}; a network failure is status 0.
  async function widgetPost(path, body) {
    let res, data = null;
    try {
      res = await fetch(`${ORIGIN}/api/widget/${path}`, {
        method: 'POST', credentials: 'omit', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${state.token}` }
      });
      data = await res.json();
    } catch (e) {
      if (!res) return { ok: false, status: 0, data, code: 'unavailable', message: '' };
    }
    const err = (data && data.error) || {};
    return {
      ok: res.ok, status: res.status, data,
      code: res.ok ? null : err.code || `http_${res.status}`, message: err.message || ''
    };
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

  // Live only: sent after a shopper's message while no agent has answered yet, and
  // after the shopper's own posts in a public room (to them only).
  function onSuggestions(f) {
    const mid = f.for_message_id;
    const items = validItems(f.items).slice(0, 3);
    if (!mid || !items.length || faq.cards[mid]) return;
    const roomId = roomOf(f.room_id) ? f.room_id : null;
    if (!roomId && state.roomId && f.room_id && f.room_id !== state.roomId) return;
    faq.cards[mid] = { items, feedback: {}, node: null, roomId };
    renderCard(mid);
  }

  // A card sits right after its message; it carries that message's seq so that place()
  // keeps later messages below it. Community cards show while their room is on screen.
  function renderCard(mid) {
    const card = faq.cards[mid];
    if (!ui || !card || (card.node && card.node.isConnected)) return;
    if (card.roomId && card.roomId !== community.openId) return;
    const [list, scroller] = card.roomId ? [ui.rlist, ui.rbody] : [ui.list, ui.body];
    let msg = list.lastChild;
    while (msg && msg.dataset.id !== mid) msg = msg.previousSibling;
    if (!msg) return; // drawn once the message is (renderMessage, drawRoom)
    const stick = nearBottom(scroller);
    card.node = card.node || buildCard(mid, card);
    card.node.dataset.seq = msg.dataset.seq;
    msg.after(card.node);
    if (stick) scrollDown(scroller);
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

  // -------------------------------------------------------------- community
  // The site's public rooms, read by every visitor who joins them. Posting needs a
  // display name (asked once, `profile`). Staff are author.kind 'agent'; an answer
  // carries reply_to, shown as a quote above it. Moderators' `withdrawn` removes a
  // message live. Messages are kept per room (R.msgs); the open room is drawn from them.
  const JOIN_PAGE = 50; // what a join answers at most: a full page means there is older
  const roomOf = (id) => community.rooms.find((r) => r.id === id) || null;
  const isMine = (m) => !!m.author && m.author.kind === 'customer' && m.author.id === state.customerId;
  const nameKey = () => `name:${state.customerId}`;

  function newRoom(info) {
    return {
      id: info.id, info, msgs: {}, minSeq: 0, maxSeq: 0, hasMore: false, loaded: false,
      joined: false, joining: false, older: false, draft: '', mutedUntil: null,
      seen: store.get(`seen:${info.id}`) // highest seq read here, across page loads
    };
  }

  function bindCommunity() {
    ui.back.addEventListener('click', () => openRoom(null));
    ui.rattach.addEventListener('click', () => ui.rfileInput.click());
    ui.rfileInput.addEventListener('change', () => {
      addRoomFiles(ui.rfileInput.files);
      ui.rfileInput.value = '';
    });
    ui.rinput.addEventListener('paste', (e) => {
      const files = e.clipboardData && e.clipboardData.files;
      if (files && files.length && roomTakesImages()) {
        e.preventDefault();
        addRoomFiles(files);
      }
    });
    ui.rform.addEventListener('submit', (e) => { e.preventDefault(); post(); });
    enterSends(ui.rinput, post);
    ui.rinput.addEventListener('input', () => {
      grow(ui.rinput);
      composerState();
    });
    ui.rcancel.addEventListener('click', () => setReply(null));
    ui.nameForm.addEventListener('submit', (e) => { e.preventDefault(); saveName(); });
    ui.rbody.addEventListener('scroll', () => { if (ui.rbody.scrollTop < 60) loadOlder(); }, { passive: true });
    ui.pinned.addEventListener('click', () => {
      const open = ui.pinned.getAttribute('aria-expanded') !== 'true';
      ui.pinned.setAttribute('aria-expanded', String(open));
      if (open) jumpTo(ui.pinned.dataset.messageId);
    });
  }

  function communityLabels() {
    if (!ui) return;
    ui.cintro.textContent = t('cIntro');
    ui.back.setAttribute('aria-label', t('back'));
    ui.older.textContent = t('older');
    ui.rempty.textContent = t('rEmpty');
    ui.rinput.setAttribute('placeholder', t('rPlaceholder'));
    ui.rsend.setAttribute('aria-label', t('send'));
    ui.rattach.title = t('rAttach');
    ui.rattach.setAttribute('aria-label', t('rAttach'));
    ui.rnote.textContent = t('rNote');
    ui.rcancel.setAttribute('aria-label', t('cancelReply'));
    ui.nameLabel.textContent = t('nameAsk');
    ui.nameInput.setAttribute('aria-label', t('namePh'));
    ui.nameInput.setAttribute('placeholder', t('namePh'));
    ui.nameSave.textContent = t('nameSave');
    drawRooms();
    const R = roomOf(community.openId);
    if (R) drawRoom(R);
  }

  // welcome.rooms (and the session's config.rooms) list the open public rooms in order.
  function setRooms(list) {
    const next = list.filter((r) => r && r.kind === 'public' && !r.archived)
      .map((info) => Object.assign(roomOf(info.id) || newRoom(info), { info }));
    for (const R of community.rooms) {
      if (!next.includes(R) && R.joined) send({ type: 'leave', room_id: R.id });
    }
    community.rooms = next;
    if (community.openId && !roomOf(community.openId)) openRoom(null);
    drawRooms();
  }

  // Name, pin, slow mode or archive changed, or a room was added.
  function onPublicRoom(info) {
    let R = roomOf(info.id);
    if (!R) {
      if (info.archived) return;
      R = newRoom(info);
      community.rooms.push(R);
      community.rooms.sort((a, b) => (a.info.position || 0) - (b.info.position || 0));
      if (community.wanted) joinRoom(R);
    }
    R.info = info;
    drawRooms();
    if (R.id === community.openId) drawRoomHead(R);
  }

  // The first visit to the tab joins every room; from then on every page load does.
  function enterCommunity() {
    if (!community.wanted) {
      community.wanted = true;
      store.set('community', true);
    }
    joinRooms();
    if (community.openId) scrollDown(ui.rbody);
    markSeen();
  }

  function joinRooms() {
    for (const R of community.rooms) joinRoom(R);
  }

  // After a reconnect the room is joined again and synced on from the last seq held;
  // what vanished from the join's window meanwhile was hidden by a moderator.
  async function joinRoom(R) {
    if (!state.welcomed || R.joined || R.joining) return;
    const sock = ws;
    R.joining = true;
    let ack;
    try {
      ack = await request({ type: 'join', room_id: R.id });
    } catch (err) {
      return console.warn('[sapa] join failed', err && err.code);
    } finally {
      R.joining = false;
    }
    if (ws !== sock || roomOf(R.id) !== R) return;
    R.joined = true;
    if (ack.room) R.info = ack.room;
    const msgs = (ack.messages || []).filter((m) => m && m.seq);
    const held = R.maxSeq;
    if (R.loaded && msgs.length) {
      const lo = msgs[0].seq, hi = msgs[msgs.length - 1].seq, ids = msgs.map((m) => m.id);
      for (const id in R.msgs) {
        const m = R.msgs[id];
        if (m.seq >= lo && m.seq <= hi && !ids.includes(id)) dropRoomMessage(R, id);
      }
    }
    msgs.forEach((m) => addRoomMessage(R, m, false));
    if (!R.loaded) {
      R.loaded = true;
      R.rev = (ack.room && ack.room.last_rev) || 0; // the join's messages are at least this recent
      R.hasMore = msgs.length >= JOIN_PAGE;
    } else if (held) {
      await catchUp(R, sock, held);
    }
    if (R.seen == null) setSeen(R, R.maxSeq); // a first visit: nothing is news yet
    drawRooms();
    if (R.id !== community.openId) return;
    drawRoomHead(R);
    ui.rempty.hidden = Object.keys(R.msgs).length > 0;
    if (!held) scrollDown(ui.rbody);
    markSeen();
    fillView(R);
  }

  async function catchUp(R, sock, after) {
    for (let page = 0; page < 5; page++) {
      let ack;
      try {
        ack = await request({ type: 'sync', room_id: R.id, after_seq: after, limit: 200, since_rev: R.rev || 0 });
      } catch (err) {
        return;
      }
      if (ws !== sock) return;
      const msgs = ack.messages || [];
      msgs.forEach((m) => addRoomMessage(R, m, false));
      // Hidden while we were away (their `withdrawn` never reached us): gone, and so is
      // their quote in answers held, even when the message itself is older than those.
      const gone = ack.withdrawn || [];
      gone.forEach((id) => dropRoomMessage(R, id));
      const updates = ack.updates || [];
      updates.forEach((m) => onRoomUpdate(R, m));
      if (typeof ack.rev === 'number') R.rev = ack.rev;
      if (!ack.has_more || !(msgs.length || updates.length || gone.length)) return;
      if (msgs.length) after = msgs[msgs.length - 1].seq;
    }
    // Far behind: keep only the newest page (what the join gave) and scroll back for more.
    const keep = Object.values(R.msgs).sort((a, b) => b.seq - a.seq).slice(0, JOIN_PAGE);
    R.msgs = {};
    R.minSeq = 0;
    keep.forEach((m) => addRoomMessage(R, m, false));
    R.hasMore = true;
    if (R.id === community.openId) drawRoom(R);
  }

  // A message changed while we were away. One not held was unhidden: it goes back in its
  // place when it falls among those held (or older, when there is nothing older to load).
  function onRoomUpdate(R, m) {
    if (!m || m.room_id !== R.id) return;
    if (R.msgs[m.id]) return onMessageUpdate(m);
    if (R.minSeq && m.seq <= R.maxSeq && (m.seq >= R.minSeq || !R.hasMore)) {
      requote(R, m);
      addRoomMessage(R, m, false);
    }
  }

  function onRoomMessage(m, live) {
    const R = roomOf(m.room_id);
    const isNew = !R.msgs[m.id];
    // Older than the newest held: unhidden, and quoted as withdrawn in answers held.
    if (isNew && m.seq < R.maxSeq) requote(R, m);
    addRoomMessage(R, m, live);
    if (!live || !isNew) return;
    // Someone answered this shopper's post: worth the launcher's badge while closed.
    const to = m.reply_to && m.reply_to.author;
    if (!state.isOpen && !isMine(m) && to && to.kind === 'customer' && to.id === state.customerId) {
      setUnread(state.unread + 1);
    }
    drawRooms();
    markSeen();
  }

  function addRoomMessage(R, m, live) {
    if (!m || m.kind === 'note' || m.hidden) return;
    const had = R.msgs[m.id];
    R.msgs[m.id] = m;
    R.maxSeq = Math.max(R.maxSeq, m.seq);
    R.minSeq = R.minSeq ? Math.min(R.minSeq, m.seq) : m.seq;
    if (had || !ui || R.id !== community.openId) return;
    const node = buildRoomMessage(R, m);
    place(node, m.seq, ui.rlist, ui.rbody);
    ui.rempty.hidden = true;
    if (live && isMine(m)) scrollDown(ui.rbody);
    if (isAnswer(m)) markAnswered(nodeOf(m.reply_to.id));
    if (faq.cards[m.id]) renderCard(m.id);
  }

  // The quote a withdrawn message left in answers, back as the server quotes it (the first
  // 200 characters).
  function requote(R, m) {
    if (m.kind !== 'text' || m.hidden) return;
    const rt = { id: m.id, body: Array.from(m.body || '').slice(0, 200).join(''), author: m.author };
    for (const mid in R.msgs) {
      const a = R.msgs[mid];
      if (!a.reply_to || a.reply_to.id !== m.id || !a.reply_to.hidden) continue;
      R.msgs[mid] = Object.assign({}, a, { reply_to: rt });
      const old = ui && R.id === community.openId && nodeOf(mid);
      if (old) old.replaceWith(buildRoomMessage(R, R.msgs[mid]));
    }
  }

  function onWithdrawn(f) {
    const R = roomOf(f.room_id);
    if (R && f.message_id) dropRoomMessage(R, f.message_id);
  }

  // Gone for visitors: the message, and its text quoted in answers to it.
  function dropRoomMessage(R, id) {
    delete R.msgs[id];
    for (const mid in R.msgs) {
      const rt = R.msgs[mid].reply_to;
      if (rt && rt.id === id) R.msgs[mid] = Object.assign({}, R.msgs[mid], { reply_to: { id, hidden: true } });
    }
    if (community.replyTo && community.replyTo.id === id) setReply(null);
    if (R.info.pinned && R.info.pinned.id === id) R.info = Object.assign({}, R.info, { pinned: null });
    drawRooms();
    if (!ui || R.id !== community.openId) return;
    for (const node of Array.from(ui.rlist.children)) {
      if (node.dataset.id === id) node.remove();
      const quote = node.querySelector('.quote');
      if (quote && quote.dataset.replyTo === id) quote.replaceWith(buildQuote({ id, hidden: true }));
    }
    const card = faq.cards[id];
    if (card && card.node) card.node.remove();
    drawRoomHead(R);
  }

  function onMuted(f) {
    const R = roomOf(f.room_id);
    if (!R || f.customer_id !== state.customerId) return;
    R.mutedUntil = f.until || null;
    if (R.id === community.openId) drawRoomHead(R);
  }

  // Unread: others' messages past what was on screen when last looked at.
  function unreadOf(R) {
    if (R.seen == null) return 0;
    let n = 0;
    for (const id in R.msgs) {
      const m = R.msgs[id];
      if (m.seq > R.seen && m.kind === 'text' && !isMine(m)) n++;
    }
    return n;
  }

  function setSeen(R, seq) {
    R.seen = seq;
    store.set(`seen:${R.id}`, seq);
  }

  function markSeen() {
    const R = roomOf(community.openId);
    const looking = state.isOpen && state.tab === 'community' && document.visibilityState !== 'hidden';
    if (!R || !ui || !looking) return;
    if (R.seen === R.maxSeq) return;
    setSeen(R, R.maxSeq);
    drawRooms();
  }

  const count = (n) => (n > 99 ? '99+' : n ? String(n) : '');

  function drawRooms() {
    if (!ui) return;
    ui.tabs.hidden = !community.rooms.length;
    if (!community.rooms.length && state.tab !== 'chat') setTab('chat');
    let total = 0;
    const rows = community.rooms.map((R) => {
      const row = R.row || (R.row = buildRoomRow(R));
      const n = unreadOf(R);
      total += n;
      row.querySelector('.rr-name').textContent = R.info.name || t('tabCommunity');
      const last = Object.values(R.msgs)
        .reduce((a, m) => (m.kind === 'text' && (!a || m.seq > a.seq) ? m : a), null);
      const preview = row.querySelector('.rr-last');
      preview.textContent = last ? `${who(last.author)}: ${last.body}` : '';
      preview.hidden = !last;
      const badge = row.querySelector('.count');
      badge.textContent = count(n);
      badge.hidden = !n;
      badge.setAttribute('aria-label', t('cUnread', { n }));
      return row;
    });
    const shown = ui.rooms.children;
    const same = rows.length === shown.length && rows.every((r, i) => shown[i] === r);
    if (!same) ui.rooms.replaceChildren(...(rows.length ? rows : [el('p', 'cintro', t('cNone'))]));
    ui.tabCount.textContent = count(total);
    ui.tabCount.hidden = !total;
    ui.tabCount.setAttribute('aria-label', t('cUnread', { n: total }));
  }

  function buildRoomRow(R) {
    const row = el('button', 'roomrow');
    row.type = 'button';
    row.dataset.testid = 'sapa-room';
    row.dataset.roomId = R.id;
    row.appendChild(el('span', 'ricon', '#'));
    const text = row.appendChild(el('span', 'rr'));
    text.appendChild(el('div', 'rr-name'));
    text.appendChild(el('div', 'rr-last'));
    row.appendChild(el('span', 'count')).dataset.testid = 'sapa-room-unread';
    row.addEventListener('click', () => openRoom(R.id));
    return row;
  }

  // null goes back to the list. Rooms stay joined either way (see `community`).
  function openRoom(id) {
    const prev = roomOf(community.openId);
    if (prev) prev.draft = ui.rinput.value;
    const R = id ? roomOf(id) : null;
    community.openId = R ? R.id : null;
    community.waiting = null;
    if (community.files.length) setRoomFiles([]); // photos picked for the room left behind
    setReply(null);
    ui.clist.hidden = !!R;
    ui.roomView.hidden = !R;
    if (!R) {
      drawRooms();
      return (prev && prev.row) ? prev.row.focus() : null;
    }
    ui.rinput.value = R.draft;
    grow(ui.rinput);
    ui.nameForm.hidden = true;
    drawRoom(R);
    joinRoom(R);
    markSeen();
    focusInput();
    fillView(R);
  }

  function drawRoom(R) {
    ui.rlist.textContent = '';
    const msgs = Object.values(R.msgs).sort((a, b) => a.seq - b.seq);
    const answered = new Set(msgs.filter(isAnswer).map((m) => m.reply_to.id));
    for (const m of msgs) ui.rlist.appendChild(buildRoomMessage(R, m, answered));
    for (const mid in faq.cards) if (faq.cards[mid].roomId === R.id) renderCard(mid);
    ui.rempty.hidden = msgs.length > 0 || !R.loaded;
    ui.older.hidden = !R.older;
    drawRoomHead(R);
    scrollDown(ui.rbody);
  }

  function drawRoomHead(R) {
    ui.rtitle.textContent = R.info.name || t('tabCommunity');
    const pin = R.info.pinned;
    ui.pinned.hidden = !pin || pin.hidden;
    if (pin) {
      ui.pinned.dataset.messageId = pin.id;
      ui.pl.textContent = `${t('pinned')} \u00b7 ${who(pin.author)}`;
      ui.pb.textContent = pin.body;
    }
    const muted = R.mutedUntil && new Date(R.mutedUntil) > new Date();
    if (R.info.archived) showRoomError(t('eArchived'), 'forbidden');
    else if (muted) showRoomError(t('eMuted', { time: when(R.mutedUntil) }), 'forbidden');
    else if (ui.rerr.dataset.sticky) showRoomError(null);
    ui.rerr.dataset.sticky = R.info.archived || muted ? '1' : '';
    composerState();
  }

  function composerState() {
    const R = roomOf(community.openId);
    const closed = !R || !!R.info.archived;
    ui.rinput.disabled = closed;
    // Visitors' photos only where the room's owner allowed them (`visitor_images`).
    const images = roomTakesImages();
    ui.rattach.hidden = !images;
    ui.rattach.disabled = community.posting;
    if (!images && community.files.length) setRoomFiles([]);
    const empty = !ui.rinput.value.trim() && !community.files.length;
    ui.rsend.disabled = closed || community.posting || empty;
  }

  function roomTakesImages() {
    const R = roomOf(community.openId);
    return !!R && !R.info.archived && R.info.visitor_images === true;
  }

  // The server decides by the bytes; this only keeps what it would refuse out of the tray.
  function addRoomFiles(list) {
    const picked = Array.from(list || []);
    const photos = picked.filter((f) => /^image\/(jpeg|png|webp|gif)$/.test(f.type));
    if (photos.length < picked.length) showRoomError(t('imagesOnly'), 'forbidden');
    setRoomFiles(community.files.concat(photos).slice(0, 10));
    ui.rinput.focus();
  }

  function setRoomFiles(files) {
    community.files = files;
    for (const f of community.uploaded.keys()) if (!files.includes(f)) community.uploaded.delete(f);
    renderTray(ui.rtray, community.files, composerState);
    composerState();
  }

  // Upload the post's photos not uploaded yet; their ids, or throws what `refused` shows.
  async function uploadRoomFiles(files) {
    const ids = [];
    for (const f of files) {
      if (!community.uploaded.has(f)) {
        showRoomError(t('uploading'));
        const res = await uploadFile(f, f.name || 'photo', () => {});
        const err = (res.data && res.data.error) || {};
        if (!res.ok || !res.data || !res.data.attachment) {
          throw res.status ? { code: err.code || 'internal', message: err.message || '' } : { code: 'disconnected' };
        }
        community.uploaded.set(f, res.data.attachment.id);
      }
      ids.push(community.uploaded.get(f));
    }
    if (files.length) showRoomError(null);
    return ids;
  }

  const isAnswer = (m) => !!m.reply_to && !!m.author && m.author.kind === 'agent';

  // `answered`: the ids of messages staff have answered (else found by looking).
  function buildRoomMessage(R, m, answered) {
    const node = el('div', 'msg rmsg');
    node.dataset.testid = 'sapa-room-message';
    node.dataset.id = node.dataset.messageId = m.id;
    node.dataset.seq = m.seq;
    const kind = m.kind === 'event' ? 'system' : (m.author && m.author.kind) || 'system';
    node.dataset.authorKind = kind;
    if (m.kind === 'event') {
      node.classList.add('event');
      node.textContent = `${eventText(m)} \u00b7 ${hhmm(m.created_at)}`;
      return node;
    }
    const mine = isMine(m);
    if (mine) node.classList.add('own');
    if (kind === 'agent') node.classList.add('staff');
    const head = node.appendChild(el('div', 'author'));
    const name = who(m.author);
    head.appendChild(el('span', 'who', mine ? `${name} (${t('you')})` : name));
    if (kind === 'agent') head.appendChild(el('span', 'sbadge', t('staff'))).dataset.testid = 'sapa-staff-badge';
    if (m.reply_to) node.appendChild(buildQuote(m.reply_to));
    if (m.attachments && m.attachments.length) node.appendChild(buildFiles(m.attachments));
    if (m.body) node.appendChild(el('div', 'bubble')).appendChild(linked(m.body));
    const meta = node.appendChild(el('div', 'rmeta'));
    const time = meta.appendChild(el('time', null, hhmm(m.created_at)));
    if (m.created_at) time.dateTime = m.created_at;
    if (!m.deleted) {
      const reply = meta.appendChild(el('button'));
      reply.type = 'button';
      reply.dataset.testid = 'sapa-reply-btn';
      reply.innerHTML = ICONS.reply; // static icon
      reply.appendChild(el('span', null, t('reply')));
      reply.addEventListener('click', () => setReply(R.msgs[m.id] || m));
    }
    const done = answered ? answered.has(m.id)
      : Object.values(R.msgs).some((a) => isAnswer(a) && a.reply_to.id === m.id);
    if (done) markAnswered(node);
    decorate(node, m);
    return node;
  }

  // "Answered by staff" under a question.
  function markAnswered(node) {
    const meta = node && node.querySelector('.rmeta');
    if (meta && !meta.querySelector('.done')) meta.appendChild(el('span', 'done', `\u2713 ${t('answered')}`));
  }

  // The question above an answer; a withdrawn one is not quoted (the server says hidden).
  function buildQuote(rt) {
    const quote = el('button', 'quote');
    quote.type = 'button';
    quote.dataset.testid = 'sapa-reply-to';
    quote.dataset.replyTo = rt.id;
    if (rt.hidden || typeof rt.body !== 'string') {
      quote.classList.add('gone');
      quote.textContent = t('quoteGone');
      return quote;
    }
    const text = quote.appendChild(el('span', 'qtext'));
    text.appendChild(el('b', null, who(rt.author)));
    text.appendChild(document.createTextNode(` ${rt.body}`));
    quote.addEventListener('click', () => jumpTo(rt.id));
    return quote;
  }

  const nodeOf = (id) => Array.from(ui.rlist.children).find((n) => n.dataset.id === id);

  function jumpTo(id) {
    const node = nodeOf(id);
    if (!node) return;
    node.scrollIntoView({ block: 'center', behavior: 'smooth' });
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
  }

  // Scrolled to the top: the page before the oldest message held.
  async function loadOlder() {
    const R = roomOf(community.openId);
    if (!R || !R.hasMore || R.older || !R.minSeq || !state.welcomed) return;
    R.older = true;
    ui.older.hidden = false;
    try {
      const ack = await request({ type: 'history', room_id: R.id, before_seq: R.minSeq, limit: 30 });
      const msgs = ack.messages || [];
      R.hasMore = !!ack.has_more && msgs.length > 0;
      if (R.id === community.openId) ui.older.hidden = true;
      const body = ui.rbody, height = body.scrollHeight, top = body.scrollTop;
      msgs.forEach((m) => addRoomMessage(R, m, false));
      if (R.id === community.openId) body.scrollTop = top + body.scrollHeight - height;
    } catch (err) {
      console.warn('[sapa] history failed', err && err.code);
    } finally {
      R.older = false;
      if (R.id === community.openId) ui.older.hidden = true;
    }
    fillView(R);
  }

  // Too few messages to scroll means no scrolling up either: load on until it can.
  function fillView(R) {
    const body = ui.rbody;
    if (R.id === community.openId && R.hasMore && body.scrollHeight <= body.clientHeight + 60) loadOlder();
  }

  function setReply(m) {
    community.replyTo = m || null;
    ui.replying.hidden = !m;
    if (!m) return;
    ui.rq.textContent = '';
    ui.rq.appendChild(el('b', null, t('replying', { name: who(m.author) })));
    ui.rq.appendChild(document.createTextNode(`: ${m.body}`));
    ui.rinput.focus();
  }

  function showRoomError(text, code, detail) {
    ui.rerr.hidden = !text;
    ui.rerr.textContent = text || '';
    ui.rerr.dataset.code = code || '';
    ui.rerr.title = detail || '';
  }

  // A time in a refusal ("muted until 2026-11-22T10:00:00.000Z"), said locally.
  function when(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso || '';
    if (d.toDateString() === new Date().toDateString()) return hhmm(iso);
    return d.toLocaleString(state.locale === 'en' ? 'en-GB' : 'id-ID',
      { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  }

  async function post() {
    const R = roomOf(community.openId);
    const body = ui.rinput.value;
    const files = community.files.slice();
    if (!R || (!body.trim() && !files.length) || community.posting || R.info.archived) return;
    if (!store.get(nameKey())) return askName();
    // One id per text (and photos), so that a retry after a lost ack is stored once.
    const what = body + '\u0000' + files.map((f) => f.name + f.size).join('/');
    if (community.waiting !== what) community.cmid = uuid();
    community.waiting = what;
    const frame = { type: 'send', room_id: R.id, client_msg_id: community.cmid, body };
    if (community.replyTo) frame.reply_to = community.replyTo.id;
    community.posting = true;
    composerState();
    try {
      if (files.length) frame.attachments = await uploadRoomFiles(files);
      const ack = await request(frame);
      community.waiting = null;
      if (ack.message) onRoomMessage(ack.message, true);
      if (files.length) setRoomFiles(community.files.filter((f) => !files.includes(f)));
      if (ui.rinput.value === body) ui.rinput.value = '';
      grow(ui.rinput);
      setReply(null);
      R.mutedUntil = null; // it went out, so no longer
      showRoomError(null);
      drawRoomHead(R);
      scrollDown(ui.rbody);
    } catch (err) {
      refused(err);
    } finally {
      community.posting = false;
      composerState();
    }
  }

  // The server says why in English; the shopper reads it in their language.
  function refused(err) {
    const code = (err && err.code) || 'internal', msg = (err && err.message) || '';
    const secs = /(\d+)\s*s\b/.exec(msg);
    const at = /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(msg);
    let text;
    if (code === 'disconnected') text = t('eOffline');
    else if (code === 'rate_limited') text = t(/slow/i.test(msg) ? 'eSlow' : 'eFast', { n: secs ? secs[1] : '' });
    else if (code === 'forbidden' && /archiv/i.test(msg)) text = t('eArchived');
    else if (code === 'forbidden' && /mute/i.test(msg)) text = t('eMuted', { time: when(at && at[0]) });
    else if (code === 'forbidden' && /name/i.test(msg)) {
      store.del(nameKey()); // the name is gone (another device, an erase): ask again
      return askName();
    } else if (code === 'not_found' && community.replyTo) {
      setReply(null);
      text = t('eReply');
    } else text = t('eOther', { msg: msg || code });
    showRoomError(text, code, msg);
  }

  function askName() {
    ui.nameForm.hidden = false;
    if (!ui.nameInput.value) ui.nameInput.value = store.get('pcname') || '';
    ui.nameInput.focus();
  }

  async function saveName() {
    const name = ui.nameInput.value.trim().replace(/\s+/g, ' ');
    if (name.length < 2 || name.length > 40 || !/\p{L}/u.test(name)) {
      showRoomError(t('nameBad'), 'bad_request');
      return ui.nameInput.focus();
    }
    ui.nameSave.disabled = true;
    try {
      const ack = await request({ type: 'profile', name });
      store.set(nameKey(), (ack.customer && ack.customer.name) || name);
      ui.nameForm.hidden = true;
      showRoomError(null);
      // The shop's own name, its staff's names, "admin", "CS"...: not for visitors.
      if (ui.rinput.value.trim()) post(); else ui.rinput.focus();
    } catch (err) {
      const code = err && err.code, msg = (err && err.message) || '';
      const word = /\('([^']+)'\)/.exec(msg);
      const which = word ? ` ('${word[1]}')` : '';
      if (code === 'forbidden') showRoomError(t('nameStaff', { word: which }), code, msg);
      else if (code === 'bad_request') showRoomError(t('nameBad'), code, msg);
      else refused(err);
      ui.nameInput.focus();
    } finally {
      ui.nameSave.disabled = false;
    }
  }

  // Another customer now (identify, a new session): whose posts are "mine" changed.
  function resetCommunity() {
    for (const R of community.rooms) {
      Object.assign(R, { msgs: {}, minSeq: 0, maxSeq: 0, hasMore: false, loaded: false, mutedUntil: null });
    }
    for (const mid in faq.cards) if (faq.cards[mid].roomId) delete faq.cards[mid];
    if (!ui) return;
    ui.nameForm.hidden = true;
    const R = roomOf(community.openId);
    if (R) drawRoom(R);
    drawRooms();
  }

  // ---------------------------------------------------------- conversations
  // After a resolve the shopper may start a new conversation; the earlier ones are listed
  // (welcome.past_conversations) and open read-only: their history by `sync`, their own
  // rating when not given yet, no composer.
  Object.assign(STRINGS.id, {
    newConv: 'Mulai percakapan baru', pastTitle: 'Percakapan sebelumnya ({n})',
    pastBack: 'Kembali ke percakapan', pastReadOnly: 'Percakapan ini sudah selesai dan hanya bisa dibaca.',
    pastEmpty: 'Belum ada pesan.', pastRated: 'Sudah dinilai', pastAt: 'Percakapan {date}',
    pastOpen: 'Masih dibuka'
  });
  Object.assign(STRINGS.en, {
    newConv: 'Start a new conversation', pastTitle: 'Earlier conversations ({n})',
    pastBack: 'Back to the conversation', pastReadOnly: 'This conversation has ended; you can read it.',
    pastEmpty: 'No messages.', pastRated: 'Rated', pastAt: 'Conversation of {date}',
    pastOpen: 'Still open'
  });
  const CONVO_STYLE = `
.newconv{align-self:center;margin:8px 0 4px}
.past{margin:0 0 6px;font-size:12.5px}.past summary{cursor:pointer;color:#4b5563;font-weight:600;padding:4px 2px}
.pastrow{display:block;width:100%;margin-top:6px;padding:8px 10px;border-radius:10px;background:#fff;box-shadow:0 1px 2px rgba(15,23,42,.08);text-align:left}
.pastrow:hover{box-shadow:0 0 0 1.5px var(--accent)}.pastrow .rr-last{display:block}
.pastview{flex:1;min-height:0;display:flex;flex-direction:column}
.past-open>:not(.pastview){display:none!important}
.pastview .rbody{flex:1}.pastnote{padding:10px 16px;border-top:1px solid #eceef2;font-size:12px;color:#6b7280;background:#fff}`;
  const convos = { past: [], open: null, ui: null };

  function mountConversations() {
    const root = loader.root;
    root.appendChild(el('style', null, CONVO_STYLE));
    const newBtn = el('button', 'btn newconv');
    newBtn.type = 'button';
    newBtn.dataset.testid = 'sapa-new-conversation';
    newBtn.hidden = true;
    newBtn.addEventListener('click', startNewConversation);
    ui.rating.after(newBtn);
    const past = el('details', 'past');
    past.dataset.testid = 'sapa-past';
    past.hidden = true;
    const summary = past.appendChild(el('summary'));
    const rows = past.appendChild(el('div'));
    ui.body.insertBefore(past, ui.body.firstChild);
    const view = el('div', 'pastview');
    view.dataset.testid = 'sapa-past-view';
    view.hidden = true;
    const head = view.appendChild(el('div', 'rhead'));
    const back = head.appendChild(el('button', 'rback'));
    back.type = 'button';
    back.dataset.testid = 'sapa-past-back';
    back.innerHTML = ICONS.back; // static icon
    back.addEventListener('click', closePast);
    const title = head.appendChild(el('div', 'rtitle'));
    const body = view.appendChild(el('div', 'rbody'));
    const list = body.appendChild(el('div', 'list'));
    list.setAttribute('role', 'log');
    const rating = view.appendChild(el('div', 'rating'));
    rating.dataset.testid = 'sapa-past-rating';
    const rtext = rating.appendChild(el('div', 'rtext'));
    const stars = rating.appendChild(el('div', 'stars'));
    for (let n = 1; n <= 5; n++) {
      const b = stars.appendChild(el('button', null, '\u2605'));
      b.type = 'button';
      b.dataset.score = n;
      b.addEventListener('click', () => ratePast(n));
    }
    const note = view.appendChild(el('div', 'pastnote'));
    ui.chatView.appendChild(view);
    convos.ui = { newBtn, past, summary, rows, view, back, title, body, list, rating, rtext, stars, note };
    renderPast();
    showNewConversation();
  }

  function setPast(list) {
    convos.past = Array.isArray(list) ? list.filter((p) => p && p.id) : [];
    if (convos.open && !convos.past.some((p) => p.id === convos.open)) closePast();
    renderPast();
  }

  function isPast(roomId) { return convos.past.some((p) => p.id === roomId); }

  function renderPast() {
    const c = convos.ui;
    if (!c) return;
    c.past.hidden = !convos.past.length;
    c.summary.textContent = t('pastTitle', { n: convos.past.length });
    c.rows.replaceChildren(...convos.past.map((p) => {
      const row = el('button', 'pastrow');
      row.type = 'button';
      row.dataset.testid = 'sapa-past-item';
      row.dataset.roomId = p.id;
      row.appendChild(el('span', 'rr-name', t('pastAt', { date: dayOf(p.created_at) })));
      const last = p.last_message;
      row.appendChild(el('span', 'rr-last', last ? last.body || t('msgDeleted') : t('pastEmpty')));
      row.addEventListener('click', () => openPast(p.id));
      return row;
    }));
  }

  // Staff may still write into a conversation left behind: its row and, when open, its view
  // follow live.
  function onPastMessage(m) {
    const p = convos.past.find((x) => x.id === m.room_id);
    if (!p) return;
    p.last_message = { body: m.body, author_kind: m.author && m.author.kind, created_at: m.created_at };
    renderPast();
    const c = convos.ui;
    if (!c || convos.open !== m.room_id || c.list.querySelector(`[data-seq="${m.seq}"]`)) return;
    const node = buildMessage(m);
    node.dataset.seq = m.seq;
    c.list.appendChild(node);
    scrollDown(c.body);
  }

  function dayOf(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    try { return d.toLocaleDateString(state.locale === 'en' ? 'en-GB' : 'id-ID', { day: 'numeric', month: 'short', year: 'numeric' }); } catch (e) { return iso.slice(0, 10); }
  }

  // The "new conversation" button stands under a resolved conversation's rating prompt.
  function showNewConversation() {
    const c = convos.ui;
    if (!c) return;
    c.newBtn.textContent = t('newConv');
    const show = !!(state.room && state.room.status === 'resolved' && state.roomId === state.room.id);
    const appearing = show && c.newBtn.hidden;
    c.newBtn.hidden = !show;
    if (appearing) scrollDown(); // below the rating prompt: in view with it
  }

  async function startNewConversation() {
    const c = convos.ui;
    c.newBtn.disabled = true;
    try {
      const ack = await request({ type: 'new_conversation' });
      resetConversation();
      setPast(ack.past_conversations);
      store.del('live');
      focusInput();
    } catch (err) {
      console.warn('[sapa] new conversation failed', err && err.code);
    } finally {
      c.newBtn.disabled = false;
    }
  }

  // A `room` event of a conversation left behind (another tab started over, or staff
  // changed a past one): this tab follows.
  function onPastRoom(room) {
    if (room.id === state.roomId) resetConversation();
    const held = convos.past.find((p) => p.id === room.id);
    if (held) held.status = room.status;
    else convos.past.unshift({ id: room.id, status: room.status, created_at: room.created_at, last_message: null, rated: false });
    renderPast();
  }

  async function openPast(roomId) {
    const c = convos.ui, p = convos.past.find((x) => x.id === roomId);
    if (!c || !p) return;
    convos.open = roomId;
    c.title.textContent = t('pastAt', { date: dayOf(p.created_at) });
    c.back.setAttribute('aria-label', t('pastBack'));
    c.note.textContent = t('pastReadOnly');
    c.list.replaceChildren();
    showPastRating(p);
    c.view.hidden = false;
    ui.chatView.classList.add('past-open');
    let after = 0, more = true;
    try {
      while (more && convos.open === roomId) {
        const ack = await request({ type: 'sync', room_id: roomId, after_seq: after, limit: 200 });
        const msgs = ack.messages || [];
        for (const m of msgs) {
          after = Math.max(after, m.seq);
          if (convos.open !== roomId || m.kind === 'note') continue;
          const node = buildMessage(m);
          node.dataset.seq = m.seq;
          if (m.deleted) decorate(node, m);
          c.list.appendChild(node);
        }
        more = ack.has_more && msgs.length > 0;
      }
    } catch (err) {
      console.warn('[sapa] past conversation failed', err && err.code);
    }
    if (convos.open === roomId) scrollDown(c.body);
  }

  function showPastRating(p) {
    const c = convos.ui;
    const askable = p.status === 'resolved' && !p.rated;
    c.rating.hidden = !askable && !p.rated;
    c.rtext.textContent = p.rated ? t('pastRated') : t('rate');
    c.stars.hidden = !askable;
    for (const b of c.stars.children) b.setAttribute('aria-label', t('star', { n: b.dataset.score }));
  }

  async function ratePast(score) {
    const p = convos.past.find((x) => x.id === convos.open);
    if (!p) return;
    try {
      await request({ type: 'rate', room_id: p.id, score });
    } catch (err) {
      return console.warn('[sapa] rating failed', err && err.code);
    }
    p.rated = true;
    showPastRating(p);
    convos.ui.rtext.textContent = t('thanks');
  }

  function closePast() {
    convos.open = null;
    if (!convos.ui) return;
    convos.ui.view.hidden = true;
    ui.chatView.classList.remove('past-open');
    scrollDown();
  }

  // --------------------------------------------------------------- identify
  // The shop vouches for a logged-in shopper (user_hash = HMAC of external_id with the
  // site's identity secret). The same token then stands for the known customer, whose
  // conversation may have been merged and renumbered: reconnect and load it from seq 0.
  let identifying = Promise.resolve(true);
  function identify(opts) {
    identifying = identifying.then(() => runIdentify(opts || {}), () => runIdentify(opts || {}));
    return identifying;
  }

  async function runIdentify(opts) {
    const refuse = (code, message) => {
      emit('error', { op: 'identify', code, message: message || '' });
      return false;
    };
    if (typeof opts.external_id !== 'string' || typeof opts.user_hash !== 'string') {
      return refuse('bad_request', 'external_id and user_hash are required');
    }
    if (!state.hasSession) {
      connect();
      await new Promise((resolve) => sessionWaiters.push(resolve));
    }
    const body = { external_id: opts.external_id, user_hash: opts.user_hash };
    for (const k of ['name', 'email']) if (typeof opts[k] === 'string' && opts[k].trim()) body[k] = opts[k];
    // Called on every page of a logged-in shop: once per token is enough.
    const done = store.get('identified');
    if (done && done.external_id === body.external_id && done.token === state.token) return true;
    const res = await widgetPost('identify', body);
    if (!res.ok || !res.data || !res.data.customer_id) return refuse(res.code || 'unavailable', res.message);
    // fresh: the token stood for another known shopper, so the server gave a new one.
    if (res.data.fresh) forgetShopper();
    state.token = res.data.token || state.token;
    store.set('token', state.token);
    store.set('identified', { external_id: body.external_id, token: state.token });
    store.set('prechat', true); // the shop knows who this is
    showPrechat(false);
    resetConversation();
    resetCommunity();
    state.customerId = res.data.customer_id;
    if (!state.stopped) {
      dropSocket(0); // the server closes the old sockets (1012) anyway
      attempt = 0;
      setConn('connecting');
      start();
    }
    emit('identified', { customer_id: state.customerId });
    return true;
  }

  // ------------------------------------------------------------------ reset
  // On a shared computer one shopper follows another: nothing of the previous one may stay
  // (not on screen, not in the outbox, not in this or another tab). shopperGen tells
  // answers to requests made for the previous shopper apart.
  let shopperGen = 0;
  function forgetShopper(keepStorage) {
    shopperGen += 1;
    for (const id in state.pendingEls) state.pendingEls[id].remove();
    state.pendingEls = {};
    state.outbox = [];
    // Files picked or waiting to upload belong to this shopper only.
    tray.splice(0);
    for (const k in blobs) delete blobs[k];
    community.files = [];
    community.uploaded.clear();
    if (ui) { renderTray(); renderTray(ui.rtray, community.files, composerState); }
    if (!keepStorage) {
      saveOutbox();
      if (state.customerId) store.del(nameKey());
      for (const k of ['identified', 'prechat', 'pcname', 'live']) store.del(k);
    }
    resetConversation();
    resetCommunity();
    setPast([]);
    setUnread(0);
    state.customerId = null;
  }

  // Start over with `token` (null: a new visitor), at once only when `now`.
  function restart(token, now) {
    state.token = token;
    state.hasSession = false;
    if (state.stopped) return;
    dropSocket(0);
    clearTimeout(retryTimer);
    attempt = 0;
    setConn('connecting');
    wanted = false;
    if (now) connect();
  }

  function reset() {
    forgetShopper();
    store.del('token');
    restart(null, state.isOpen);
  }

  // Another tab reset or identified another shopper: follow it (its storage is already
  // done, so only what this tab holds in memory goes).
  window.addEventListener('storage', (ev) => {
    if (ev.key !== `sapa:${SITE}:token`) return;
    const token = store.get('token');
    if (token === state.token) return;
    const now = state.isOpen || (wanted && !!token);
    forgetShopper(true);
    restart(token, now);
  });

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
    // A Promise (of true / false): not the api, so nothing calls it by mistake.
    identify(opts) { return identify(opts); },
    reset() { reset(); },
    q: { push: call } // the page's snippet keeps pushing here after load
  });

  loader.app = api;
  window.Sapa = api;

  // ------------------------------------------------------------------- boot
  // The loader already applied open/close/toggle to `wantOpen`; the rest runs now.
  function boot() {
    mount();
    for (const args of loader.queue.splice(0)) {
      if (['open', 'close', 'toggle'].includes(args[0])) continue;
      const result = call(args);
      if (args.settle) Promise.resolve(result).then(args.settle);
    }
    const link = /[#&]sapa_open=([^&]+)/.exec(location.hash);
    if (link) reopenFromEmail(decodeURIComponent(link[1]));
    else if (inProgress()) connect();
  }

  // A link in a reply email leads here: the conversation it names opens in this widget.
  async function reopenFromEmail(link) {
    try { history.replaceState(null, '', location.pathname + location.search); } catch (e) { /* kept */ }
    let data = null;
    try {
      const res = await fetch(`${ORIGIN}/api/widget/reopen`, {
        method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ site_key: SITE, link })
      });
      if (res.ok) data = await res.json();
    } catch (e) { /* offline: carry on as before */ }
    if (data && data.token) {
      forgetShopper();
      store.set('token', data.token);
      store.set('live', true);
      restart(data.token, true);
    } else if (inProgress()) {
      connect();
    }
    open();
  }

  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => { setConn('offline'); probe(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    markRead();
    markSeen();
    probe();
  });

  state.locale = pickLocale();
  boot(); // the loader runs this file only once its launcher is on the page
})();
