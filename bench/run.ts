// `npm run bench`: runs the benchmark suites, prints tables and writes JSON
// results to bench/results/. Figures are for comparison within one run; the
// machine is shared, so nothing here is a pass/fail test.
//
//   npm run bench                          every suite: check, matmul, cpu, train, resnet
//   npm run bench -- --suite cpu --quick   one suite (repeatable), fewer repetitions
//
// Suites load lazily, so `--suite check` never loads TensorFlow.js.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FULL, QUICK, type TimingOptions } from "./timing.ts";

type Suite = (o: TimingOptions) => Promise<unknown>;

const SUITES: Record<string, () => Promise<Suite>> = {
  check: async () => (await import("./check.ts")).checkSuite,
  matmul: async () => (await import("./matmul.ts")).matmulSuite,
  cpu: async () => (await import("./cpu.ts")).cpuSuite,
  train: async () => (await import("./train.ts")).trainSuite,
  resnet: async () => (await import("./resnet.ts")).resnetSuite,
  webgpu: async () => (await import("./webgpu.ts")).webgpuSuite,
};

const { values } = parseArgs({
  options: {
    suite: { type: "string", multiple: true },
    quick: { type: "boolean", default: false },
    out: { type: "string", default: join(import.meta.dirname, "results") },
    target: { type: "string" }, // --target webgpu: the WebGPU suite (bench/webgpu.ts)
  },
});
const names = values.suite ?? (values.target === "webgpu" ? ["webgpu"] : Object.keys(SUITES).filter((s) => s !== "webgpu"));
const unknown = names.filter((s) => !(s in SUITES));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(", ")}; the suites are ${Object.keys(SUITES).join(", ")}`);
  process.exit(2);
}

const timing = values.quick ? QUICK : FULL;
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`, // not "cpu": that is a suite's key
  quick: values.quick,
  timing,
};
console.log(`nnc benchmarks, ${results["date"]}, Node ${process.version}, ${results["machine"]}${values.quick ? ", --quick" : ""}`);
for (const name of names) {
  const t0 = performance.now();
  try {
    results[name] = await (await SUITES[name]!())(timing);
  } catch (e) {
    // Reported here: once tfjs-wasm has loaded, its Emscripten glue rethrows anything uncaught
    // and Node then prints a screenful of minified code instead of the error.
    console.error(`suite ${name} failed:`, e);
    results[name] = { error: String(e) };
    process.exitCode = 1;
  }
  console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, "bench.json");
writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
console.log(`results written to ${file}`);
