// DOM nodes for the bot's messages, built with createElement/textContent only: the text of
// a message never reaches innerHTML, so no HTML in an answer is ever interpreted.

import { parseMarkdown, safeUrl } from "./markdown.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A link that leaves the site opens a new tab, safely, and says so (RGAA 13.2). */
export function link(href, children, className) {
  const external = /^https?:/i.test(href);
  const node = el("a", { href, className });
  node.append(...children);
  if (external) {
    node.target = "_blank";
    node.rel = "noopener noreferrer";
    node.append(el("span", { className: "gru-sr", text: " (nouvelle fenêtre)" }));
  }
  return node;
}

function inline(nodes) {
  return nodes.map((node) => {
    if (node.type === "text") return document.createTextNode(node.text);
    if (node.type === "strong") return el("strong", {}, ...inline(node.children));
    if (node.type === "em") return el("em", {}, ...inline(node.children));
    return link(node.href, inline(node.children));
  });
}

export function markdown(text) {
  const fragment = document.createDocumentFragment();
  for (const block of parseMarkdown(text)) {
    if (block.type === "p") {
      const p = el("p");
      block.lines.forEach((line, index) => {
        if (index) p.append(el("br"));
        p.append(...inline(line));
      });
      fragment.append(p);
    } else {
      const list = el(block.type);
      for (const item of block.items) list.append(el("li", {}, ...inline(item)));
      fragment.append(list);
    }
  }
  return fragment;
}

/**
 * A button of an answer: a postback (quick reply) is a real <button> that sends its
 * payload and shows its title as the citizen's message; a web_url button is a link.
 */
export function button(spec, onChoose, solid = false) {
  const title = typeof spec?.title === "string" ? spec.title : "";
  if (!title) return null;
  if (spec.type === "web_url" || (spec.url && !spec.payload)) {
    const href = safeUrl(spec.url);
    return href ? link(href, [document.createTextNode(title)], "gru-btn") : null;
  }
  const payload = typeof spec.payload === "string" ? spec.payload : title;
  return el("button", {
    type: "button",
    className: solid ? "gru-btn gru-btn-solid" : "gru-btn",
    text: title,
    onclick: () => onChoose(title, payload),
  });
}

export function buttonList(specs, onChoose, className = "gru-replies") {
  const items = (Array.isArray(specs) ? specs : [])
    .map((spec) => button(spec, onChoose))
    .filter(Boolean)
    .map((node) => el("li", {}, node));
  return items.length ? el("ul", { className }, ...items) : null;
}

/** A card (interface 1): title, subtitle, optional image and link, buttons. */
function card(element, onChoose) {
  const title = typeof element?.title === "string" ? element.title : "";
  const item = el("li", { className: "gru-card" });
  const image = safeUrl(element?.image_url);
  if (image) item.append(el("img", { className: "gru-image", src: image, alt: "", loading: "lazy" }));
  const heading = el("p", { className: "gru-card-title" });
  const target = safeUrl(element?.default_action?.url);
  heading.append(target ? link(target, [document.createTextNode(title)]) : document.createTextNode(title));
  item.append(heading);
  if (typeof element?.subtitle === "string" && element.subtitle) {
    item.append(el("p", { className: "gru-card-sub", text: element.subtitle }));
  }
  const buttons = buttonList(element?.buttons, onChoose);
  if (buttons) item.append(buttons);
  return item;
}

export function cards(elements, onChoose) {
  const list = Array.isArray(elements) ? elements : elements ? [elements] : [];
  const items = list.filter((e) => e && typeof e === "object").map((e) => card(e, onChoose));
  if (!items.length) return null;
  const label = items.length > 1 ? `${items.length} propositions` : "Proposition";
  return el("ul", { className: "gru-cards", "aria-label": label, tabindex: items.length > 1 ? 0 : null }, ...items);
}
