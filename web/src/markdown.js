// The safe markdown of the bot's answers, parsed into a small tree (no DOM here, so
// node's test runner checks it): paragraphs whose single line breaks are kept, bullet and
// numbered lists, **bold**, *italics*, [links](https://…) and bare https:// addresses.
// Raw HTML is never interpreted: it stays text. A link whose address is not http(s),
// mailto, tel or a path of the site (javascript:, data:, vbscript:, //host …) is refused
// and its words stay as plain text.

const SAFE_SCHEMES = /^(https?:|mailto:|tel:)/i;
const BULLET = /^\s*[-*•]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
// [text](address) | **bold** | __bold__ | *italics* | a bare https:// address
// (no _italics_: it would need a look-behind, a syntax error in older Safari on iOS,
// and underscores are common in what citizens and references write)
const INLINE =
  /\[([^\]\n]{1,300})\]\(([^()\s]{1,2000})\)|\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\*([^*\s][^*\n]*?)\*|(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/g;

/** The address if a citizen can follow it safely, else null. */
export function safeUrl(raw) {
  if (typeof raw !== "string") return null;
  // Browsers ignore control characters and spaces inside a scheme ("java\tscript:"):
  // strip them before judging, and judge what the browser would see.
  const url = raw.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  if (!url) return null;
  if (SAFE_SCHEMES.test(url)) return url;
  if (url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\")) return url;
  return null;
}

/** Inline nodes of one line: {type: "text"|"strong"|"em"|"link", …}. */
export function parseInline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push({ type: "text", text: text.slice(last, match.index) });
    const [whole, label, href, bold1, bold2, em, bare] = match;
    if (label !== undefined) {
      const safe = safeUrl(href);
      nodes.push(safe ? { type: "link", href: safe, children: parseInline(label) } : { type: "text", text: label });
    } else if (bold1 !== undefined || bold2 !== undefined) {
      nodes.push({ type: "strong", children: parseInline(bold1 ?? bold2) });
    } else if (em !== undefined) {
      nodes.push({ type: "em", children: parseInline(em) });
    } else if (bare !== undefined) {
      nodes.push({ type: "link", href: bare, children: [{ type: "text", text: bare }] });
    } else {
      nodes.push({ type: "text", text: whole });
    }
    last = match.index + whole.length;
  }
  if (last < text.length) nodes.push({ type: "text", text: text.slice(last) });
  return nodes;
}

/** Blocks of a message: {type: "p", lines: [inline[]]} | {type: "ul"|"ol", items: [inline[]]}. */
export function parseMarkdown(source) {
  const text = typeof source === "string" ? source.replace(/\r\n?/g, "\n") : "";
  const blocks = [];
  let current = null;
  for (const line of text.split("\n")) {
    if (!line.trim()) {
      current = null;
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    const kind = bullet ? "ul" : numbered ? "ol" : "p";
    if (!current || current.type !== kind) {
      current = kind === "p" ? { type: "p", lines: [] } : { type: kind, items: [] };
      blocks.push(current);
    }
    if (kind === "p") current.lines.push(parseInline(line.trim()));
    else current.items.push(parseInline((bullet || numbered)[1].trim()));
  }
  return blocks;
}
