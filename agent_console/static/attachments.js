// Files in conversations: the reply box's tray (attach, paste, drop; uploaded at once,
// with progress), thumbnails and file links in messages, and the full-size view.

import { t } from "./i18n.js";
import { upload } from "./api.js";
import { h } from "./dom.js";

const MAX_FILES = 10;
const isImage = (type) => /^image\//.test(type || "");

export class AttachTray {
  // `onChange` is told whenever the tray changes (the send button follows it).
  constructor(trayEl, onChange, onError) {
    this.el = trayEl;
    this.items = [];
    this.onChange = onChange;
    this.onError = onError;
  }

  get ids() {
    return this.items.filter((i) => i.attachment).map((i) => i.attachment.id);
  }

  get busy() {
    return this.items.some((i) => !i.attachment);
  }

  get empty() {
    return this.items.length === 0;
  }

  add(files) {
    for (const file of Array.from(files || [])) {
      if (this.items.length >= MAX_FILES) break;
      const item = { file, progress: 0, attachment: null, preview: isImage(file.type) ? URL.createObjectURL(file) : null };
      this.items.push(item);
      upload(file, (part) => {
        item.progress = part;
        this.render();
      })
        .then((attachment) => {
          item.attachment = attachment;
          this.render();
        })
        .catch((err) => {
          this.remove(item);
          this.onError(err.code, err.message);
        });
    }
    this.render();
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.render();
  }

  clear() {
    for (const item of this.items) if (item.preview) URL.revokeObjectURL(item.preview);
    this.items = [];
    this.render();
  }

  render() {
    this.el.replaceChildren(
      ...this.items.map((item) => {
        const name = item.file.name || t("files.image");
        return h(
          "div",
          { class: "tray__item", "data-testid": "attach-item", "data-ready": item.attachment ? "true" : "false" },
          item.preview ? h("img", { src: item.preview, alt: name }) : h("span", { class: "tray__name", text: name }),
          item.attachment ? null : h("progress", { max: "1", value: String(item.progress) }),
          h("button", {
            type: "button",
            class: "tray__remove",
            text: "\u00d7",
            "aria-label": t("files.remove", { name }),
            onclick: () => this.remove(item),
          }),
        );
      }),
    );
    this.el.hidden = this.items.length === 0;
    this.onChange();
  }
}

// The files of a message: images as thumbnails that open full size, others as links.
export function filesNode(attachments) {
  return h(
    "div",
    { class: "msg__files" },
    ...attachments.map((a) => {
      if (isImage(a.type) && a.url) {
        return h(
          "button",
          {
            type: "button",
            class: "msg__thumb",
            "data-testid": "message-image",
            "aria-label": t("files.open", { name: a.name }),
            onclick: () => openLightbox(a.url, a.name),
          },
          h("img", { src: a.thumb_url || a.url, alt: a.name, loading: "lazy" }),
        );
      }
      return h(
        "a",
        { class: "msg__file", href: a.url, target: "_blank", rel: "noopener noreferrer", "data-testid": "message-file" },
        `\u{1F4C4} ${a.name}`,
        h("span", { class: "muted small", text: ` ${sizeText(a.size)}` }),
      );
    }),
  );
}

// Re-rendering a message keeps its files unless they changed (links are re-signed on
// every sync; the images already shown need not reload).
export function setFiles(container, attachments) {
  const key = (attachments || []).map((a) => a.id).join(",");
  if (container.dataset.files === key) return;
  container.dataset.files = key;
  container.replaceChildren(...(key ? [filesNode(attachments)] : []));
}

function sizeText(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

let box = null;

export function openLightbox(url, name) {
  if (!box) {
    box = h(
      "dialog",
      { class: "lightbox", "data-testid": "lightbox" },
      h("img", { alt: "" }),
      h("button", { type: "button", class: "lightbox__close", "data-testid": "lightbox-close", text: "\u00d7" }),
    );
    box.querySelector("button").addEventListener("click", () => box.close());
    box.addEventListener("click", (e) => {
      if (e.target === box) box.close();
    });
    document.body.append(box);
  }
  const img = box.querySelector("img");
  img.src = url;
  img.alt = name;
  box.querySelector("button").setAttribute("aria-label", t("files.close"));
  box.showModal();
}

// Paste and drop into the reply box add files to the tray.
export function bindDrops(input, dropZone, tray) {
  input.addEventListener("paste", (e) => {
    const files = e.clipboardData?.files;
    if (files?.length) {
      e.preventDefault();
      tray.add(files);
    }
  });
  dropZone.addEventListener("dragover", (e) => {
    if (!Array.from(e.dataTransfer?.types || []).includes("Files")) return;
    e.preventDefault();
    dropZone.classList.add("dropping");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
  dropZone.addEventListener("drop", (e) => {
    dropZone.classList.remove("dropping");
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    tray.add(e.dataTransfer.files);
  });
}
