// Getting the agent's attention: desktop notifications, a short chime made
// with WebAudio (no audio files to ship or fetch), and the unread count in the
// tab title.

let audio = null;

export function notificationsSupported() {
  return "Notification" in window;
}

export function permission() {
  return notificationsSupported() ? Notification.permission : "denied";
}

// Browsers only grant permission, and only let audio start, inside a user gesture.
export async function requestPermission() {
  unlockAudio();
  if (!notificationsSupported()) return "denied";
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

export function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!audio) {
    try {
      audio = new Ctx();
    } catch {
      return;
    }
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
}

// Two rising sine notes, ~0.35 s, quiet enough not to startle.
export function chime() {
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime + 0.01;
  [
    [660, 0],
    [880, 0.14],
  ].forEach(([freq, offset]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t0 = start + offset;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.18, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0);
    osc.stop(t0 + 0.22);
  });
}

export function desktopNotify({ title, body, tag, onClick }) {
  if (permission() !== "granted") return null;
  try {
    const n = new Notification(title, { body, tag, renotify: true });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
    return n;
  } catch {
    // Some platforms only allow notifications from a service worker.
    return null;
  }
}

export function setTitleCount(n, base = "Sapa") {
  const title = n > 0 ? `(${n > 99 ? "99+" : n}) ${base}` : base;
  if (document.title !== title) document.title = title;
}
