// Bundles the browser code of the project, one file per page, no CDN:
// - src/widget.js and socket.io-client into dist/widget.js, the citizens' chat widget: its
//   gzipped size is printed and over the 60 KB budget the build fails;
// - src/dashboard.js and Chart.js (bar and line charts only) into dist/dashboard.js, the
//   statistics pages of the agent console (handoff/dashboard.py), budget 100 KB gzipped.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUNDLES = [
  { entry: "src/widget.js", out: "dist/widget.js", name: "widget bundle", budget: 60 * 1024 },
  { entry: "src/dashboard.js", out: "dist/dashboard.js", name: "dashboard bundle", budget: 100 * 1024 },
];

for (const bundle of BUNDLES) {
  await build({
    entryPoints: [bundle.entry],
    outfile: bundle.out,
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "eof",
    logLevel: "warning",
  });
  const raw = readFileSync(bundle.out);
  const gzipped = gzipSync(raw, { level: 9 }).length;
  const budget = bundle.budget / 1024;
  console.log(`${bundle.name}: ${bundle.out} ${(raw.length / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${budget} KB)`);
  if (gzipped > bundle.budget) {
    console.error(`${bundle.name} over the ${budget} KB gzipped budget`);
    process.exit(1);
  }
}
