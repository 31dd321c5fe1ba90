// The collectivité's chat widget: one <script> tag, a configuration object, Rasa's socketio
// protocol (session_request / session_confirm / user_uttered / bot_uttered) with session
// persistence. Nothing connects and nothing is stored before the visitor opens the chat.
// Accessibility (RGAA 4.1): a labelled launcher, a modal dialog that traps the focus and
// gives it back to the launcher, real buttons, a live log, labels, visible focus.

import { io } from "socket.io-client";
import { CSS } from "./styles.js";
import { button, buttonList, cards, el, markdown } from "./render.js";
import { safeUrl } from "./markdown.js";

const DEFAULTS = {
  socketUrl: "",
  socketPath: "/socket.io/",
  title: "Assistant en ligne",
  subtitle: "Réponses 24 h/24",
  collectivite: "",
  launcherText: "Une question ?",
  privacyUrl: "/confidentialite",
  accessibilityUrl: "",
  storage: "session", // "session" (the tab only), "local" (the browser) or "none"
  initPayload: "/greet",
  uploadPath: "/webhooks/uploads/photo",
  maxPhotoBytes: 5 * 1024 * 1024,
  colors: {},
};
const STORE_KEY = "gru-widget";
const MAX_ENTRIES = 300;
const MAX_CHARS = 2000;
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]):not([type="hidden"]),textarea,[tabindex="0"]';

// ---- colours: the configured ones only if they keep a 4.5:1 contrast (RGAA 3.2) ----
function luminance(hex) {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(hex || "").trim());
  if (!m) return null;
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [la, lb] = [luminance(a), luminance(b)];
  if (la === null || lb === null) return 0;
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function applyColors(root, colors) {
  const primary = colors.primary;
  const onPrimary = colors.onPrimary || "#ffffff";
  if (!primary) return;
  if (contrast(primary, onPrimary) >= 4.5 && contrast(primary, "#f0f0f5") >= 4.5) {
    root.style.setProperty("--gru-primary", primary);
    root.style.setProperty("--gru-on-primary", onPrimary);
  } else {
    console.warn("GruWidget: colours under a 4.5:1 contrast ignored", primary, onPrimary);
  }
}

// ---- storage: written only once the visitor has opened the chat ----
function makeStore(kind) {
  let area = null;
  try {
    area = kind === "local" ? window.localStorage : kind === "none" ? null : window.sessionStorage;
  } catch {
    area = null; // storage blocked by the browser: the conversation lives in memory
  }
  let memory = null;
  return {
    load() {
      if (!area) return memory;
      try {
        return JSON.parse(area.getItem(STORE_KEY) || "null");
      } catch {
        return null;
      }
    },
    save(state) {
      memory = state;
      if (!area) return;
      try {
        area.setItem(STORE_KEY, JSON.stringify(state));
      } catch {
        /* full or blocked: keep going in memory */
      }
    },
  };
}

function icon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.append(path);
  return svg;
}

export function init(options = {}) {
  const config = { ...DEFAULTS, ...options, colors: { ...(options.colors || {}) } };
  const base = String(config.socketUrl || window.location.origin).replace(/\/+$/, "");
  const store = makeStore(config.storage);
  const saved = store.load() || {};
  const state = {
    sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
    entries: Array.isArray(saved.entries) ? saved.entries.slice(-MAX_ENTRIES) : [],
    open: false,
    touched: Boolean(saved.sessionId),
  };
  let socket = null;
  let ready = false;
  let everReady = false;
  let typingTimer = null;
  let statusTimer = null;

  const persist = () => {
    if (state.touched) store.save({ sessionId: state.sessionId, entries: state.entries, open: state.open });
  };

  // ---- the DOM ----
  const style = el("style", { text: CSS });
  const root = el("aside", { className: "gru-root", lang: "fr", "aria-label": config.title });
  applyColors(root, config.colors);
  const who = config.collectivite ? ` de ${config.collectivite}` : "";
  const launcher = el(
    "button",
    { type: "button", className: "gru-launcher", "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": "gru-dialog" },
    icon(),
    el("span", { text: config.launcherText }),
    el("span", { className: "gru-sr", text: ` Ouvrir l'assistant en ligne${who}` }),
  );
  const status = el("p", { className: "gru-status", role: "status" });
  const log = el("div", { className: "gru-log", role: "log", "aria-label": "Conversation avec l'assistant", tabindex: "0" });
  const typing = el("div", { className: "gru-typing", hidden: true, "aria-hidden": "true" }, el("span"), el("span"), el("span"));
  const input = el("input", {
    type: "text",
    id: "gru-input",
    className: "gru-input",
    autocomplete: "off",
    maxlength: String(MAX_CHARS),
    enterkeyhint: "send",
    placeholder: "Écrivez votre question…",
  });
  const send = el("button", { type: "submit", className: "gru-send", text: "Envoyer" });
  const form = el(
    "form",
    { className: "gru-form", onsubmit: onSubmit },
    el("label", { className: "gru-sr", for: "gru-input", text: "Votre message" }),
    input,
    send,
  );
  const close = el("button", { type: "button", className: "gru-close", onclick: () => closeDialog() }, "Fermer");
  close.append(el("span", { className: "gru-sr", text: " l'assistant" }));
  const foot = el("p", { className: "gru-foot" });
  const privacy = safeUrl(config.privacyUrl);
  if (privacy) foot.append("Vos données : ", el("a", { href: privacy, text: "confidentialité" }));
  const accessibility = safeUrl(config.accessibilityUrl);
  if (accessibility) foot.append(privacy ? " · " : "", el("a", { href: accessibility, text: "accessibilité" }));
  const dialog = el(
    "div",
    { className: "gru-dialog", id: "gru-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "gru-title", hidden: true },
    el(
      "div",
      { className: "gru-head" },
      el(
        "div",
        { className: "gru-head-text" },
        el("h2", { className: "gru-title", id: "gru-title", text: config.title }),
        el("p", { className: "gru-subtitle", text: [config.collectivite, config.subtitle].filter(Boolean).join(" — ") }),
      ),
      close,
    ),
    status,
    log,
    form,
    foot.childNodes.length ? foot : null,
  );
  root.append(launcher, dialog);
  document.head.append(style);
  document.body.append(root);
  launcher.addEventListener("click", () => openDialog());

  // ---- focus: trapped in the open dialog, Escape closes, back to the launcher ----
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeDialog();
      return;
    }
    if (event.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((n) => n.getClientRects().length);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  document.addEventListener("focusin", (event) => {
    if (state.open && !dialog.contains(event.target)) input.focus();
  });

  // The on-screen keyboard must not hide the input: the dialog follows the visual viewport.
  const viewport = window.visualViewport;
  if (viewport) {
    const fit = () => dialog.style.setProperty("--gru-vh", `${Math.round(viewport.height)}px`);
    viewport.addEventListener("resize", fit);
    fit();
  }

  function setStatus(text, ok = false, clearAfter = 0) {
    clearTimeout(statusTimer);
    status.textContent = text;
    status.classList.toggle("gru-ok", ok);
    if (clearAfter) statusTimer = setTimeout(() => setStatus(""), clearAfter);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      log.append(typing);
      scrollDown();
      typingTimer = setTimeout(() => showTyping(false), 20000);
    }
  }

  // ---- rendering the transcript ----
  function notice(text) {
    log.insertBefore(el("p", { className: "gru-msg gru-notice", text }), typing.parentNode === log ? typing : null);
    scrollDown();
  }

  function clearChoices() {
    for (const node of log.querySelectorAll(".gru-quick")) node.remove();
  }

  function renderUser(text) {
    const node = el("div", { className: "gru-msg gru-user" }, el("span", { className: "gru-sr", text: "Vous : " }));
    node.append(document.createTextNode(text));
    return node;
  }

  function renderBot(msg, live) {
    const node = el("div", { className: "gru-msg gru-bot" }, el("span", { className: "gru-sr", text: "L'assistant : " }));
    if (typeof msg.text === "string" && msg.text) node.append(markdown(msg.text));
    const attachment = msg.attachment && typeof msg.attachment === "object" ? msg.attachment : null;
    const payload = attachment && attachment.payload && typeof attachment.payload === "object" ? attachment.payload : {};
    if (attachment?.type === "image") {
      const src = safeUrl(payload.src || payload.url);
      const alt = typeof payload.title === "string" ? payload.title : "Image envoyée par l'assistant";
      if (src) node.append(el("img", { className: "gru-image", src, alt }));
    } else if (attachment?.type === "template") {
      const list = cards(payload.elements, choose);
      if (list) {
        node.classList.add("gru-wide");
        node.append(list);
      }
    }
    const specs = [].concat(msg.quick_replies || [], msg.buttons || []);
    const links = specs.filter((s) => s && (s.type === "web_url" || (s.url && !s.payload)));
    const choices = specs.filter((s) => !links.includes(s));
    const linkList = buttonList(links, choose);
    if (linkList) node.append(linkList);
    if (live) {
      const choiceList = buttonList(choices, choose, "gru-replies gru-quick");
      if (choiceList) node.append(choiceList);
      const custom = msg.custom && typeof msg.custom === "object" ? msg.custom : msg;
      if (custom.type === "request_photo") node.append(photoControl());
      if (custom.type === "request_location") node.append(locationControl());
    }
    return node.childNodes.length > 1 ? node : null;
  }

  function renderAll() {
    log.replaceChildren();
    const lastUser = state.entries.map((e) => e.who).lastIndexOf("user");
    state.entries.forEach((entry, index) => {
      const node = entry.who === "user" ? renderUser(entry.text) : renderBot(entry.msg || {}, index > lastUser);
      if (node) log.append(node);
    });
    scrollDown();
  }

  function addEntry(entry) {
    state.entries.push(entry);
    if (state.entries.length > MAX_ENTRIES) state.entries.splice(0, state.entries.length - MAX_ENTRIES);
    persist();
    const node = entry.who === "user" ? renderUser(entry.text) : renderBot(entry.msg, true);
    if (node) log.insertBefore(node, typing.parentNode === log ? typing : null);
    scrollDown();
  }

  // ---- talking to Rasa ----
  function emit(message) {
    socket.emit("user_uttered", { message, session_id: state.sessionId, customData: { language: "fr" } });
  }

  function say(display, message) {
    if (!ready) {
      setStatus("Pas de connexion pour l'instant : réessayez dans un instant.");
      return false;
    }
    clearChoices();
    addEntry({ who: "user", text: display });
    emit(message);
    showTyping(true);
    return true;
  }

  function choose(title, payload) {
    if (say(title, payload)) input.focus();
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (say(text, text)) input.value = "";
  }

  function connect() {
    if (socket) return;
    setStatus("Connexion en cours…");
    send.disabled = true;
    socket = io(base, { path: config.socketPath, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
    socket.on("connect", () => socket.emit("session_request", { session_id: state.sessionId }));
    socket.on("session_confirm", (remote) => {
      const id = typeof remote === "string" ? remote : remote && remote.session_id;
      if (typeof id !== "string" || !id) return;
      const fresh = id !== state.sessionId;
      if (fresh) {
        state.sessionId = id;
        state.entries = [];
        renderAll();
      }
      state.touched = true;
      persist();
      ready = true;
      send.disabled = false;
      if (everReady) setStatus("Connexion rétablie.", true, 4000);
      else setStatus("");
      everReady = true;
      if (fresh && config.initPayload) {
        emit(config.initPayload);
        showTyping(true);
      }
    });
    socket.on("bot_uttered", (msg) => {
      showTyping(false);
      if (msg && typeof msg === "object") addEntry({ who: "bot", msg });
    });
    socket.on("disconnect", () => {
      ready = false;
      send.disabled = true;
      showTyping(false);
      setStatus("Connexion perdue. Nouvelle tentative en cours…");
    });
    socket.on("connect_error", () => {
      if (!ready) setStatus("Le service ne répond pas. Nouvelle tentative en cours…");
    });
  }

  // ---- photo (interface 2 of the signalement flow) ----
  function photoControl() {
    const file = el("input", { type: "file", accept: "image/*", hidden: true, tabindex: "-1" });
    const trigger = el("button", { type: "button", className: "gru-btn gru-btn-solid", text: "Ajouter une photo", onclick: () => file.click() });
    file.addEventListener("change", () => uploadPhoto(file.files && file.files[0], trigger));
    return el("div", { className: "gru-replies gru-quick" }, trigger, file);
  }

  async function uploadPhoto(file, trigger) {
    if (!file) return;
    if (!/^image\//.test(file.type)) return notice("Ce fichier n'est pas une image. Choisissez une photo (JPEG, PNG…).");
    if (file.size > config.maxPhotoBytes) return notice("Cette photo dépasse 5 Mo. Choisissez une image plus légère.");
    trigger.disabled = true;
    trigger.textContent = "Envoi de la photo…";
    let answer = {};
    let ok = false;
    try {
      const body = new FormData();
      body.append("file", file, file.name || "photo");
      const response = await fetch(base + config.uploadPath, { method: "POST", headers: { "X-Gru-Session": state.sessionId || "" }, body });
      ok = response.ok;
      answer = await response.json().catch(() => ({}));
    } catch {
      answer = {};
    }
    trigger.disabled = false;
    trigger.textContent = "Ajouter une photo";
    if (ok && typeof answer.upload_id === "string" && UPLOAD_ID.test(answer.upload_id)) {
      say("Photo envoyée", `/share_photo${JSON.stringify({ upload_id: answer.upload_id })}`);
      input.focus();
    } else {
      notice(typeof answer.error === "string" && answer.error ? answer.error : "La photo n'a pas pu être envoyée. Réessayez dans un instant.");
      trigger.focus();
    }
  }

  // ---- location, after the visitor's consent ----
  function locationControl() {
    const box = el("div", { className: "gru-replies gru-quick gru-consent" });
    const ask = el("button", {
      type: "button",
      className: "gru-btn gru-btn-solid",
      text: "Partager ma position",
      onclick: () => {
        const yes = button({ title: "Oui, partager ma position", payload: "yes" }, () => locate(box), true);
        const no = button({ title: "Non, je préfère écrire l'adresse", payload: "no" }, () => {
          box.remove();
          input.focus();
        });
        box.replaceChildren(
          el("p", { text: "Votre position servira seulement à situer ce signalement pour la mairie. Voulez-vous la partager ?" }),
          el("div", { className: "gru-replies" }, yes, no),
        );
        yes.focus();
      },
    });
    box.append(ask);
    return box;
  }

  function locate(box) {
    if (!navigator.geolocation) {
      box.remove();
      return notice("Votre navigateur ne peut pas donner votre position. Écrivez l'adresse à la place.");
    }
    box.replaceChildren(el("p", { text: "Recherche de votre position…" }));
    navigator.geolocation.getCurrentPosition(
      (position) => {
        box.remove();
        const latitude = Number(position.coords.latitude.toFixed(5));
        const longitude = Number(position.coords.longitude.toFixed(5));
        say("Position partagée", `/share_location${JSON.stringify({ latitude, longitude })}`);
        input.focus();
      },
      (error) => {
        box.remove();
        notice(
          error && error.code === 1
            ? "Vous n'avez pas autorisé l'accès à votre position. Écrivez l'adresse à la place."
            : "Votre position n'a pas pu être trouvée. Écrivez l'adresse à la place.",
        );
        input.focus();
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  // ---- opening and closing ----
  function openDialog() {
    if (state.open) return;
    state.open = true;
    dialog.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    renderAll();
    persist();
    connect();
    input.focus();
  }

  function closeDialog() {
    if (!state.open) return;
    state.open = false;
    dialog.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    persist();
    launcher.focus();
  }

  if (saved.open) openDialog(); // a reload restores an open conversation
  return { open: openDialog, close: closeDialog };
}

function start() {
  const config = window.GRU_WIDGET;
  if (config && typeof config === "object" && !window.GruWidget.instance) window.GruWidget.instance = init(config);
}

window.GruWidget = { init, instance: null };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
