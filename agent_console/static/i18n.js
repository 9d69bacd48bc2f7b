// Every user-visible string of the console lives here, so a translator edits
// one file and a missing key shows up as the key itself rather than as blank UI.

const STRINGS = {
  en: {
    "app.title": "Sapa",
    "login.title": "Sign in to Sapa",
    "login.subtitle": "Agent console",
    "login.email": "Email",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.submitting": "Signing in…",
    "login.wrong": "Wrong email or password.",
    "login.throttled": "Too many attempts. Wait a few minutes and try again.",
    "login.failed": "Could not sign in. Check your connection and try again.",
    "status.online": "Online",
    "status.away": "Away",
    "status.offline": "Offline",
    "status.label": "Your status",
    "logout": "Log out",
    "notify.enable": "Enable notifications",
    "notify.denied": "Notifications blocked in the browser",
    "notify.newTitle": "New conversation",
    "locale.toggle": "Bahasa Indonesia",
    "conn.connecting": "Connecting…",
    "conn.online": "Connected",
    "conn.offline": "Offline",
    "conn.retry": "Offline · retrying in {s}s",
    "tab.unassigned": "Unassigned",
    "tab.mine": "Mine",
    "tab.all": "All",
    "tab.resolved": "Resolved",
    "inbox.empty.unassigned": "No one is waiting. Nice.",
    "inbox.empty.mine": "Nothing assigned to you.",
    "inbox.empty.all": "No open conversations.",
    "inbox.empty.resolved": "No resolved conversations yet.",
    "inbox.loading": "Loading conversations…",
    "inbox.typing": "typing…",
    "inbox.noMessages": "No messages yet",
    "inbox.replied": "↩ ",
    "inbox.note": "Note: ",
    "visitor": "Visitor",
    "conv.empty": "Pick a conversation from the inbox.",
    "conv.loading": "Loading messages…",
    "conv.loadFailed": "Could not load messages.",
    "conv.assignee": "Assignee",
    "conv.unassigned": "Unassigned",
    "conv.assignMe": "Assign to me",
    "conv.resolve": "Resolve",
    "conv.reopen": "Reopen",
    "conv.note": "Private note",
    "conv.noteToggle": "Note",
    "conv.placeholder": "Write a reply… (Enter sends, Shift+Enter for a new line)",
    "conv.notePlaceholder": "Write a private note — only agents see it",
    "conv.send": "Send",
    "conv.addNote": "Add note",
    "conv.sending": "Sending…",
    "conv.failed": "Not sent · click to retry",
    "conv.seen": "Seen",
    "conv.typing": "{name} is typing…",
    "conv.resolvedHint": "This conversation is resolved. Reopen it to put it back in the inbox.",
    "room.queued": "Queued",
    "room.assigned": "Assigned",
    "room.resolved": "Resolved",
    "room.open": "Open",
    "err.generic": "Something went wrong: {msg}",
    "err.offline": "Not connected. Try again in a moment.",
    "err.forbidden": "You are not allowed to do that.",
    "err.conflict": "Someone else changed this conversation first.",
    "err.rate_limited": "Slow down a little and try again.",
    "err.too_large": "That message is too long.",
    "err.not_found": "That conversation no longer exists.",
    "event.assigned": "Assigned to {name}",
    "event.unassigned": "Unassigned",
    "event.resolved": "Resolved by {name}",
    "event.reopened": "Reopened by {name}",
    "event.reopenedByCustomer": "Reopened by the customer",
    "time.now": "now",
    "time.m": "{n}m",
    "time.h": "{n}h",
    "time.d": "{n}d",
    "nav.label": "Sections",
    "nav.conversations": "Conversations",
    "nav.faq": "FAQ",
    "faq.title": "FAQ",
    "faq.subtitle": "Answers the widget offers shoppers and the console suggests to agents.",
    "faq.subtitleAgent": "Answers the console suggests to you. Only owners can change them.",
    "faq.import": "Import",
    "faq.importHint": "CSV (question, answer, category, tags, lang) or JSON",
    "faq.importing": "Importing {name}…",
    "faq.imported": "{n} imported from {name}.",
    "faq.importBadType": "Choose a .csv or .json file.",
    "faq.importFailed": "Import failed: {msg}",
    "faq.exportCsv": "Export CSV",
    "faq.exportJson": "Export JSON",
    "faq.new": "+ New entry",
    "faq.search": "Search questions, answers, tags…",
    "faq.allCategories": "All categories",
    "faq.allStatuses": "All statuses",
    "faq.allLangs": "All languages",
    "faq.noCategory": "No category",
    "faq.status.published": "Published",
    "faq.status.draft": "Draft",
    "faq.loading": "Loading FAQ…",
    "faq.loadFailed": "Could not load the FAQ.",
    "faq.empty": "No entries yet.",
    "faq.emptyOwner": "No entries yet. Create one or import a CSV.",
    "faq.emptyFiltered": "Nothing matches these filters.",
    "faq.count": "{n} entries",
    "faq.countFiltered": "{shown} of {n} entries",
    "faq.phrasingCount": "{n} phrasings",
    "faq.phrasingCount1": "1 phrasing",
    "faq.moveUp": "Move up",
    "faq.moveDown": "Move down",
    "faq.pick": "Pick an entry to edit it, or create a new one.",
    "faq.pickAgent": "Pick an entry to read it.",
    "faq.close": "Close",
    "faq.newTitle": "New entry",
    "faq.editTitle": "Edit entry",
    "faq.question": "Question",
    "faq.answer": "Answer",
    "faq.answerHint": "**bold**, _italic_, [links](https://…) and lists (lines starting with “- ”) work.",
    "faq.category": "Category",
    "faq.tags": "Tags",
    "faq.tagsPlaceholder": "e.g. shipping, medan",
    "faq.lang": "Language",
    "faq.status": "Status",
    "faq.phrasings": "Alternate phrasings",
    "faq.phrasingsHintNew": "Other ways shoppers ask the same thing. Saved with the entry.",
    "faq.phrasingsHintEdit": "Other ways shoppers ask the same thing. Changes here are saved at once; “learnt” ones came from agents' replies.",
    "faq.phrasingPlaceholder": "Another way to ask…",
    "faq.phrasingAdd": "Add",
    "faq.phrasingDelete": "Remove phrasing",
    "faq.noPhrasings": "None yet.",
    "faq.learnt": "learnt",
    "faq.rendered": "How the answer looks (saved version)",
    "faq.save": "Save",
    "faq.create": "Create",
    "faq.saving": "Saving…",
    "faq.saved": "Saved.",
    "faq.cancel": "Cancel",
    "faq.delete": "Delete",
    "faq.confirmDelete": "Delete “{q}”? This cannot be undone.",
    "faq.deleted": "Entry deleted.",
    "faq.discard": "Discard your unsaved changes?",
    "faq.required": "Question and answer are required.",
    "faq.notFound": "That entry no longer exists.",
    "preview.title": "Try it as a shopper",
    "preview.hint": "Type a message as a shopper would. Only published entries are suggested.",
    "preview.placeholder": "e.g. kak ongkir ke medan brp?",
    "preview.searching": "Looking…",
    "preview.none": "No entry matches this message.",
    "preview.threshold": "Confident from {p}",
    "preview.above": "Clears the bar — shown to shoppers",
    "preview.below": "Below the bar — only agents see it",
    "preview.why": "Why:",
    "preview.failed": "Could not get suggestions.",
    "preview.open": "Open this entry",
    "sugg.title": "FAQ suggestions",
    "sugg.hint": "Click to use, click again to send",
    "sugg.use": "Use this answer",
    "sugg.send": "Send this answer",
    "sugg.weak": "low confidence",
    "sugg.used": "sent",
    "err.bad_request": "The server refused that: check the fields.",
  },
  id: {
    "app.title": "Sapa",
    "login.title": "Masuk ke Sapa",
    "login.subtitle": "Konsol agen",
    "login.email": "Email",
    "login.password": "Kata sandi",
    "login.submit": "Masuk",
    "login.submitting": "Sedang masuk…",
    "login.wrong": "Email atau kata sandi salah.",
    "login.throttled": "Terlalu banyak percobaan. Tunggu beberapa menit lalu coba lagi.",
    "login.failed": "Tidak bisa masuk. Periksa koneksi lalu coba lagi.",
    "status.online": "Online",
    "status.away": "Sedang pergi",
    "status.offline": "Offline",
    "status.label": "Status Anda",
    "logout": "Keluar",
    "notify.enable": "Aktifkan notifikasi",
    "notify.denied": "Notifikasi diblokir browser",
    "notify.newTitle": "Percakapan baru",
    "locale.toggle": "English",
    "conn.connecting": "Menghubungkan…",
    "conn.online": "Terhubung",
    "conn.offline": "Terputus",
    "conn.retry": "Terputus · mencoba lagi dalam {s} dtk",
    "tab.unassigned": "Antrean",
    "tab.mine": "Milik saya",
    "tab.all": "Semua",
    "tab.resolved": "Selesai",
    "inbox.empty.unassigned": "Tidak ada yang menunggu.",
    "inbox.empty.mine": "Belum ada percakapan untuk Anda.",
    "inbox.empty.all": "Tidak ada percakapan terbuka.",
    "inbox.empty.resolved": "Belum ada percakapan selesai.",
    "inbox.loading": "Memuat percakapan…",
    "inbox.typing": "sedang mengetik…",
    "inbox.noMessages": "Belum ada pesan",
    "inbox.replied": "↩ ",
    "inbox.note": "Catatan: ",
    "visitor": "Pengunjung",
    "conv.empty": "Pilih percakapan dari kotak masuk.",
    "conv.loading": "Memuat pesan…",
    "conv.loadFailed": "Gagal memuat pesan.",
    "conv.assignee": "Agen",
    "conv.unassigned": "Belum ditugaskan",
    "conv.assignMe": "Ambil",
    "conv.resolve": "Selesaikan",
    "conv.reopen": "Buka lagi",
    "conv.note": "Catatan internal",
    "conv.noteToggle": "Catatan",
    "conv.placeholder": "Tulis balasan… (Enter kirim, Shift+Enter baris baru)",
    "conv.notePlaceholder": "Tulis catatan internal — hanya agen yang melihat",
    "conv.send": "Kirim",
    "conv.addNote": "Simpan catatan",
    "conv.sending": "Mengirim…",
    "conv.failed": "Gagal terkirim · klik untuk ulang",
    "conv.seen": "Dibaca",
    "conv.typing": "{name} sedang mengetik…",
    "conv.resolvedHint": "Percakapan ini sudah selesai. Buka lagi untuk mengembalikannya ke kotak masuk.",
    "room.queued": "Menunggu",
    "room.assigned": "Ditangani",
    "room.resolved": "Selesai",
    "room.open": "Terbuka",
    "err.generic": "Terjadi kesalahan: {msg}",
    "err.offline": "Tidak terhubung. Coba lagi sebentar lagi.",
    "err.forbidden": "Anda tidak diizinkan melakukan itu.",
    "err.conflict": "Percakapan ini sudah diubah orang lain.",
    "err.rate_limited": "Terlalu cepat. Tunggu sebentar lalu coba lagi.",
    "err.too_large": "Pesan terlalu panjang.",
    "err.not_found": "Percakapan ini sudah tidak ada.",
    "event.assigned": "Ditugaskan ke {name}",
    "event.unassigned": "Dikembalikan ke antrean",
    "event.resolved": "Diselesaikan oleh {name}",
    "event.reopened": "Dibuka lagi oleh {name}",
    "event.reopenedByCustomer": "Dibuka lagi oleh pelanggan",
    "time.now": "baru",
    "time.m": "{n}m",
    "time.h": "{n}j",
    "time.d": "{n}h",
    "nav.label": "Bagian",
    "nav.conversations": "Percakapan",
    "nav.faq": "FAQ",
    "faq.title": "FAQ",
    "faq.subtitle": "Jawaban yang ditawarkan widget ke pembeli dan disarankan konsol ke agen.",
    "faq.subtitleAgent": "Jawaban yang disarankan konsol kepada Anda. Hanya pemilik yang bisa mengubahnya.",
    "faq.import": "Impor",
    "faq.importHint": "CSV (question, answer, category, tags, lang) atau JSON",
    "faq.importing": "Mengimpor {name}…",
    "faq.imported": "{n} entri diimpor dari {name}.",
    "faq.importBadType": "Pilih berkas .csv atau .json.",
    "faq.importFailed": "Impor gagal: {msg}",
    "faq.exportCsv": "Ekspor CSV",
    "faq.exportJson": "Ekspor JSON",
    "faq.new": "+ Entri baru",
    "faq.search": "Cari pertanyaan, jawaban, tag…",
    "faq.allCategories": "Semua kategori",
    "faq.allStatuses": "Semua status",
    "faq.allLangs": "Semua bahasa",
    "faq.noCategory": "Tanpa kategori",
    "faq.status.published": "Terbit",
    "faq.status.draft": "Draf",
    "faq.loading": "Memuat FAQ…",
    "faq.loadFailed": "Gagal memuat FAQ.",
    "faq.empty": "Belum ada entri.",
    "faq.emptyOwner": "Belum ada entri. Buat baru atau impor CSV.",
    "faq.emptyFiltered": "Tidak ada yang cocok dengan filter ini.",
    "faq.count": "{n} entri",
    "faq.countFiltered": "{shown} dari {n} entri",
    "faq.phrasingCount": "{n} frasa",
    "faq.phrasingCount1": "1 frasa",
    "faq.moveUp": "Naikkan",
    "faq.moveDown": "Turunkan",
    "faq.pick": "Pilih entri untuk mengubahnya, atau buat entri baru.",
    "faq.pickAgent": "Pilih entri untuk membacanya.",
    "faq.close": "Tutup",
    "faq.newTitle": "Entri baru",
    "faq.editTitle": "Ubah entri",
    "faq.question": "Pertanyaan",
    "faq.answer": "Jawaban",
    "faq.answerHint": "Bisa pakai **tebal**, _miring_, [tautan](https://…) dan daftar (baris diawali “- ”).",
    "faq.category": "Kategori",
    "faq.tags": "Tag",
    "faq.tagsPlaceholder": "mis. ongkir, medan",
    "faq.lang": "Bahasa",
    "faq.status": "Status",
    "faq.phrasings": "Frasa lain",
    "faq.phrasingsHintNew": "Cara lain pembeli menanyakan hal yang sama. Disimpan bersama entri.",
    "faq.phrasingsHintEdit": "Cara lain pembeli menanyakan hal yang sama. Perubahan di sini langsung tersimpan; yang “dipelajari” berasal dari balasan agen.",
    "faq.phrasingPlaceholder": "Cara lain menanyakannya…",
    "faq.phrasingAdd": "Tambah",
    "faq.phrasingDelete": "Hapus frasa",
    "faq.noPhrasings": "Belum ada.",
    "faq.learnt": "dipelajari",
    "faq.rendered": "Tampilan jawaban (versi tersimpan)",
    "faq.save": "Simpan",
    "faq.create": "Buat",
    "faq.saving": "Menyimpan…",
    "faq.saved": "Tersimpan.",
    "faq.cancel": "Batal",
    "faq.delete": "Hapus",
    "faq.confirmDelete": "Hapus “{q}”? Tindakan ini tidak bisa dibatalkan.",
    "faq.deleted": "Entri dihapus.",
    "faq.discard": "Buang perubahan yang belum disimpan?",
    "faq.required": "Pertanyaan dan jawaban wajib diisi.",
    "faq.notFound": "Entri ini sudah tidak ada.",
    "preview.title": "Coba sebagai pembeli",
    "preview.hint": "Ketik pesan seperti pembeli. Hanya entri berstatus Terbit yang disarankan.",
    "preview.placeholder": "mis. kak ongkir ke medan brp?",
    "preview.searching": "Mencari…",
    "preview.none": "Tidak ada entri yang cocok dengan pesan ini.",
    "preview.threshold": "Yakin mulai {p}",
    "preview.above": "Lolos ambang — ditawarkan ke pembeli",
    "preview.below": "Di bawah ambang — hanya agen yang melihat",
    "preview.why": "Alasan:",
    "preview.failed": "Gagal mengambil saran.",
    "preview.open": "Buka entri ini",
    "sugg.title": "Saran FAQ",
    "sugg.hint": "Klik untuk memakai, klik lagi untuk mengirim",
    "sugg.use": "Pakai jawaban ini",
    "sugg.send": "Kirim jawaban ini",
    "sugg.weak": "kurang yakin",
    "sugg.used": "terkirim",
    "err.bad_request": "Ditolak server: periksa isian.",
  },
};

const STORAGE_KEY = "sapa.console.locale";
const listeners = new Set();
let current = detect();

function detect() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled (private mode, policies); the browser language still works.
  }
  if (saved && saved in STRINGS) return saved;
  const lang = (navigator.language || "en").toLowerCase();
  return lang.startsWith("id") ? "id" : "en";
}

export function locale() {
  return current;
}

export function t(key, vars) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function setLocale(next) {
  if (!(next in STRINGS) || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not persisted; the choice still holds for this page.
  }
  document.documentElement.lang = next;
  translate(document);
  for (const fn of listeners) fn(next);
}

export function toggleLocale() {
  setLocale(current === "id" ? "en" : "id");
}

export function onLocaleChange(fn) {
  listeners.add(fn);
}

// Templates mark static text with data-i18n (textContent), data-i18n-placeholder,
// data-i18n-title and data-i18n-aria-label so the server never has to know the locale.
export function translate(root) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}

// The server writes its system events in English with fixed wording; show the
// known ones in the agent's language and anything else as it came.
const EVENT_PATTERNS = [
  [/^Assigned to (.+)$/, "event.assigned"],
  [/^Unassigned$/, "event.unassigned"],
  [/^Resolved by (.+)$/, "event.resolved"],
  [/^Reopened by customer$/, "event.reopenedByCustomer"],
  [/^Reopened by (.+)$/, "event.reopened"],
];

export function eventText(body) {
  for (const [re, key] of EVENT_PATTERNS) {
    const m = re.exec(body);
    if (m) return t(key, { name: m[1] ?? "" });
  }
  return body;
}

// Compact relative time for the dense inbox: "now", "5m", "2h", "3d", then a date.
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 45) return t("time.now");
  const m = Math.round(s / 60);
  if (m < 60) return t("time.m", { n: m });
  const h = Math.round(m / 60);
  if (h < 24) return t("time.h", { n: h });
  const d = Math.round(h / 24);
  if (d < 7) return t("time.d", { n: d });
  return new Date(then).toLocaleDateString(intlLocale(), { day: "numeric", month: "short" });
}

export function clockTime(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return "";
  const today = new Date();
  const sameDay = then.toDateString() === today.toDateString();
  const opts = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return then.toLocaleString(intlLocale(), opts);
}

export function fullTime(iso) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return "";
  return then.toLocaleString(intlLocale(), { dateStyle: "full", timeStyle: "medium" });
}

function intlLocale() {
  return current === "id" ? "id-ID" : "en-GB";
}
