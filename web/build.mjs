// Bundles src/widget.js and socket.io-client into dist/widget.js (one file, no CDN), and
// prints its gzipped size: over the 60 KB budget, the build fails.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 60 * 1024;
const out = "dist/widget.js";

await build({
  entryPoints: ["src/widget.js"],
  outfile: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  logLevel: "warning",
});
const raw = readFileSync(out);
const gzipped = gzipSync(raw, { level: 9 }).length;
console.log(`widget bundle: ${out} ${(raw.length / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (budget 60 KB)`);
if (gzipped > BUDGET) {
  console.error("widget bundle over the 60 KB gzipped budget");
  process.exit(1);
}
