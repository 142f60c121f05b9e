// `npm run bench`: runs the benchmark suites, prints tables and writes JSON
// results to bench/results/. Figures are for comparison within one run; the
// machine is shared, so nothing here is a pass/fail test.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchCheck } from "./check.ts";

const { values } = parseArgs({
  options: {
    suite: { type: "string", multiple: true },
    out: { type: "string", default: join(import.meta.dirname, "results") },
  },
});
const suites = new Set(values.suite ?? ["check"]);
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

if (suites.has("check")) {
  console.log("nnc check: time against model size (best of 7)");
  const rows = benchCheck();
  console.log("| lines | ms | µs/line |\n|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.lines} | ${r.ms.toFixed(1)} | ${r.usPerLine.toFixed(1)} |`);
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const growth = last.ms / first.ms / (last.lines / first.lines);
  console.log(`growth: ${(last.lines / first.lines).toFixed(0)}× the lines took ${(last.ms / first.ms).toFixed(1)}× the time (1.0 = linear: ${growth.toFixed(2)})`);
  results["check"] = { rows, linearity: growth };
}

mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, "bench.json");
writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
console.log(`results written to ${file}`);
