// The safe markdown of the bot's answers (node's test runner: `make test-web`).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseInline, parseMarkdown, safeUrl } from "../src/markdown.js";

const text = (nodes) => nodes.map((n) => (n.type === "text" ? n.text : text(n.children))).join("");

test("single line breaks are kept as lines of one paragraph", () => {
  const blocks = parseMarkdown("Accueil de la mairie :\nlundi 8 h 30\nmardi 9 h");
  assert.equal(blocks.length, 1);
  assert.deepEqual(blocks[0].lines.map(text), ["Accueil de la mairie :", "lundi 8 h 30", "mardi 9 h"]);
});

test("bullet and numbered lines become lists, blank lines separate paragraphs", () => {
  const blocks = parseMarkdown("Les sites :\n- Mairie centrale\n* Annexe Nord\n• Annexe Sud\n\n1. Prenez rendez-vous\n2) Venez");
  assert.deepEqual(blocks.map((b) => b.type), ["p", "ul", "ol"]);
  assert.deepEqual(blocks[1].items.map(text), ["Mairie centrale", "Annexe Nord", "Annexe Sud"]);
  assert.deepEqual(blocks[2].items.map(text), ["Prenez rendez-vous", "Venez"]);
});

test("bold, italics and safe links", () => {
  const nodes = parseInline("Le **timbre fiscal** coûte *86 €* : [service-public.fr](https://www.service-public.fr/F1)");
  assert.deepEqual(nodes.map((n) => n.type), ["text", "strong", "text", "em", "text", "link"]);
  assert.equal(nodes[5].href, "https://www.service-public.fr/F1");
  assert.equal(text(nodes[5].children), "service-public.fr");
});

test("a bare https address becomes a link without its final punctuation", () => {
  const nodes = parseInline("Voir https://www.service-public.fr/particuliers/vosdroits/F1427.");
  assert.equal(nodes[1].type, "link");
  assert.equal(nodes[1].href, "https://www.service-public.fr/particuliers/vosdroits/F1427");
  assert.equal(nodes[2].text, ".");
});

test("unsafe schemes are refused and their words stay plain text", () => {
  for (const href of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:x", "data:text/html,<b>", "vbscript:x", "//evil.example/x", "/\\evil.example", "file:///etc/passwd"]) {
    assert.equal(safeUrl(href), null, href);
    const nodes = parseInline(`[cliquez](${href.replace(/\s/g, "")})`);
    assert.ok(nodes.every((n) => n.type === "text"), href);
  }
  for (const href of ["https://a.fr", "http://a.fr", "mailto:etat-civil@villebrune.fr", "tel:+33199001000", "/confidentialite"]) {
    assert.equal(safeUrl(href), href);
  }
});

test("raw HTML is text, never markup", () => {
  const blocks = parseMarkdown('<img src=x onerror="alert(1)"><script>alert(1)</script>');
  assert.equal(blocks[0].type, "p");
  assert.equal(text(blocks[0].lines[0]), '<img src=x onerror="alert(1)"><script>alert(1)</script>');
});

test("underscores inside words are not italics; non-text input gives no block", () => {
  assert.deepEqual(parseInline("faq/etat_civil_acte").map((n) => n.type), ["text"]);
  assert.deepEqual(parseMarkdown(undefined), []);
  assert.deepEqual(parseMarkdown({ text: 1 }), []);
});
