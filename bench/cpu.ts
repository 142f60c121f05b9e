// The cpu suite: nnc's CPU backend against TensorFlow.js, PyTorch and ONNX
// Runtime in one run, on the same work: square matmuls, the lesson 9 MLP
// (examples/mnist_tanh.nn) train step and inference, and the conv example's
// train step and inference. For each case the engines take turns, one sample
// each per round (timeInterleaved), so load from elsewhere on a shared
// machine hits them alike; tfjs backends switch between samples, never
// inside one. Ratios are peer time / nnc time: above 1, nnc is faster.
import { compileExample, productFlops } from "./nnc-models.ts";
import { makeFixture, nncWorkload, tfWorkload, type Fixture, type Runner, type Workload } from "./cpu-workloads.ts";
import { ortWorkload, torchWorkload, type PeerWorkload } from "./peer-workloads.ts";
import { cpuTargets, type ProductBound } from "./cpu-targets.ts";
import { simdPeak } from "./simd-peak.ts";
import { liveTensors, tf, useBackend, wasmThreadsSupported, type BackendInfo } from "./tfjs-env.ts";
import { duration, markdownTable, ratio } from "./table.ts";
import { breathe, timeInterleaved, type Contestant, type TimingOptions } from "./timing.ts";

export const ENGINES = [
  { id: "nnc", label: "nnc" },
  { id: "nnc2", label: "nnc, 2 threads" },
  { id: "tfjsCpu", label: "tfjs-cpu" },
  { id: "tfjsWasm", label: "tfjs-wasm, 1 thread" },
  { id: "tfjsWasm2", label: "tfjs-wasm, 2 threads" },
  { id: "torch", label: "PyTorch, 1 thread" },
  { id: "ortNode", label: "ORT native, 1 thread" },
  { id: "ortWeb", label: "ORT web (wasm), 1 thread" },
] as const;
export type EngineId = (typeof ENGINES)[number]["id"];

const MATMUL_SIZES = [256, 512, 1024];

interface Case {
  id: string;
  label: string;
  /** Floating-point operations per call, for the matmuls' GFLOP/s. */
  flops?: number;
  pick(w: Workload): Runner;
}

function cases(f: Fixture): Case[] {
  const matmul = (n: number): Case => ({ id: `matmul${n}`, label: `matmul ${n}×${n}×${n}`, flops: 2 * n ** 3, pick: (w) => w.matmul(n) });
  return [
    ...MATMUL_SIZES.map(matmul),
    { id: "mlpTrain", label: "MLP train step, batch 100", pick: (w) => w.mlpTrain },
    { id: "mlpInfer100", label: "MLP inference, batch 100", pick: (w) => w.mlpInfer100 },
    { id: "mlpInfer1", label: "MLP inference, batch 1", pick: (w) => w.mlpInfer1 },
    { id: "convTrain", label: `conv train step, batch ${f.convBatch}`, pick: (w) => w.convTrain },
    { id: "convInfer", label: `conv inference, batch ${f.convBatch}`, pick: (w) => w.convInfer },
  ];
}

export interface CpuRow {
  id: string;
  label: string;
  /** Median milliseconds per call, null where the engine has none (see notes). */
  ms: Record<EngineId, number | null>;
  gflops?: Partial<Record<EngineId, number>>;
  notes: Partial<Record<EngineId, string>>;
}

/** One engine's side of the suite: its workload (or why it has none), and how to make it current. */
interface Engine {
  id: EngineId;
  workload: Workload | string;
  enter?: () => Promise<unknown>;
}

/** Times one case on every engine that has it, interleaved, filling `row`. */
async function measure(row: CpuRow, c: Case, engines: readonly Engine[], o: TimingOptions): Promise<void> {
  const contestants: (Contestant & { id: EngineId })[] = [];
  for (const e of engines) {
    if (typeof e.workload === "string") {
      row.notes[e.id] = e.workload;
      continue;
    }
    await e.enter?.(); // a tfjs workload makes its tensors on the backend current when it is asked
    const run = c.pick(e.workload);
    const enter = e.enter ? { enter: e.enter } : {};
    if (typeof run === "string") row.notes[e.id] = run;
    else if (typeof run === "function") contestants.push({ id: e.id, run, ...enter });
    else contestants.push({ id: e.id, timed: run.timed, ...enter });
  }
  const timings = await timeInterleaved(contestants, o);
  const report: string[] = [];
  timings.forEach((t, k) => {
    const id = contestants[k]!.id;
    if (t instanceof Error) {
      row.notes[id] = `n/a (${t.message})`;
      report.push(`${id} failed: ${t.message}`);
      return;
    }
    row.ms[id] = t.ms;
    if (c.flops) (row.gflops ??= {})[id] = c.flops / (t.ms / 1000) / 1e9;
    report.push(`${id} ${duration(t.ms)}`);
  });
  process.stderr.write(`  ${c.label}: ${report.join(", ")}\n`);
  await breathe();
}

/** A markdown table of some engines' cells and nnc's ratios against some peers: [column, nnc engine, peer]. */
function engineTable(rows: readonly CpuRow[], engines: readonly EngineId[], ratios: readonly [string, EngineId, EngineId][]): string {
  const label = (id: EngineId) => ENGINES.find((e) => e.id === id)!.label;
  const cell = (r: CpuRow, e: EngineId) => {
    const ms = r.ms[e];
    if (ms === null) return r.notes[e] ?? "–";
    const g = r.gflops?.[e];
    return g === undefined ? duration(ms) : `${duration(ms)} (${g.toFixed(1)} GFLOP/s)`;
  };
  const header = ["benchmark", ...engines.map(label), ...ratios.map(([column]) => column)];
  const body = rows.map((r) => [r.label, ...engines.map((e) => cell(r, e)), ...ratios.map(([, e, peer]) => ratio(r.ms[e], r.ms[peer]))]);
  return markdownTable(header, body);
}

export const cpuTable = (rows: readonly CpuRow[]): string =>
  engineTable(rows, ["nnc", "nnc2", "tfjsCpu", "tfjsWasm", "tfjsWasm2"], [
    ["nnc vs tfjs-cpu", "nnc", "tfjsCpu"],
    ["nnc vs tfjs-wasm", "nnc", "tfjsWasm"],
    ["nnc 2 threads vs tfjs-wasm", "nnc2", "tfjsWasm"],
  ]);

export const peersTable = (rows: readonly CpuRow[]): string =>
  engineTable(rows, ["nnc", "torch", "ortNode", "ortWeb"], [
    ["nnc vs PyTorch", "nnc", "torch"],
    ["nnc vs ORT native", "nnc", "ortNode"],
    ["nnc vs ORT web", "nnc", "ortWeb"],
  ]);

/** The peers outside JavaScript, each an engine, or a "skipped: install …" line. */
async function otherPeers(f: Fixture, products: readonly number[]): Promise<{ engines: Engine[]; parity: Record<string, { mlp: number; conv: number }>; versions: string[]; skipped: string[] }> {
  const out = { engines: [] as Engine[], parity: {} as Record<string, { mlp: number; conv: number }>, versions: [] as string[], skipped: [] as string[] };
  const peers: [EngineId, string, () => Promise<PeerWorkload>][] = [
    ["torch", "PyTorch", () => torchWorkload(f, products)],
    ["ortNode", "ONNX Runtime (native)", () => ortWorkload(f, "node")],
    ["ortWeb", "ONNX Runtime (web, wasm)", () => ortWorkload(f, "web")],
  ];
  for (const [id, name, start] of peers) {
    let p: PeerWorkload;
    try {
      p = await start();
    } catch (e) {
      p = { workload: `n/a (failed to start: ${(e as Error).message.split("\n")[0]})` };
    }
    if (typeof p.workload === "string") {
      out.skipped.push(`${name} ${p.workload}`);
      out.engines.push({ id, workload: p.workload.startsWith("skipped") ? "skipped" : p.workload });
      continue;
    }
    out.engines.push({ id, workload: p.workload });
    if (p.parity) out.parity[id] = p.parity;
    if (p.version) out.versions.push(p.version);
  }
  return out;
}

export async function cpuSuite(o: TimingOptions): Promise<unknown> {
  const fixture = await makeFixture(await compileExample("mnist_tanh.nn"), await compileExample("mnist_conv.nn"));
  const list = cases(fixture);
  // The ceiling first, before the engines' workers and caches are about.
  const peak = await simdPeak();
  process.stderr.write(`  f32x4 ceiling: ${peak.plain.toFixed(1)} GFLOP/s plain${peak.fused === null ? "" : `, ${peak.fused.toFixed(1)} fused`}\n`);
  const mlpProducts = productFlops(fixture.mlp, { batch: 100 });
  const bound: ProductBound = { peak, mlpTrainFlops: mlpProducts.step, mlpInfer100Flops: mlpProducts.forward };
  const rows: CpuRow[] = list.map((c) => ({ id: c.id, label: c.label, ms: Object.fromEntries(ENGINES.map((e) => [e.id, null])) as CpuRow["ms"], notes: {} }));

  const engines: Engine[] = [
    { id: "nnc", workload: nncWorkload(fixture, 1) },
    { id: "nnc2", workload: nncWorkload(fixture, 2) },
  ];
  const parity: Record<string, { mlp: number; conv: number }> = {};
  const backends: BackendInfo[] = [];
  let tensorsBefore: number | undefined;
  for (const [id, backend] of [["tfjsCpu", "cpu"], ["tfjsWasm", "wasm"]] as const) {
    backends.push(await useBackend(backend, 1));
    tensorsBefore ??= liveTensors();
    const { workload, parity: p } = tfWorkload(fixture);
    parity[id] = p;
    engines.push({ id, workload, enter: () => tf.setBackend(backend) });
  }
  // The wasm backend's thread count is fixed when it starts, so a second count would need a second process.
  const wasm2 = (await wasmThreadsSupported())
    ? "n/a (not measured: tfjs-wasm's thread count is fixed per process)"
    : "n/a (no wasm threads in Node)";
  engines.push({ id: "tfjsWasm2", workload: wasm2 });
  const others = await otherPeers(fixture, MATMUL_SIZES);
  engines.push(...others.engines);
  Object.assign(parity, others.parity);
  for (const line of others.skipped) console.log(line);

  for (const [i, c] of list.entries()) await measure(rows[i]!, c, engines, o);
  for (const e of engines) if (typeof e.workload !== "string") e.workload.dispose();
  const left = liveTensors() - tensorsBefore!;
  if (left !== 0) process.stderr.write(`  warning: the tfjs workloads left ${left} tensor(s) behind\n`);

  console.log(`\nnnc CPU backend vs TensorFlow.js ${tf.version.tfjs}: median per call; ratios are tfjs time / nnc time (above 1: nnc is faster)`);
  console.log(cpuTable(rows));
  console.log(`\nnnc vs ${others.versions.join(", ") || "PyTorch and ONNX Runtime"} in the same run, one thread each: median per call; ratios are peer time / nnc time (above 1: nnc is faster)`);
  console.log(peersTable(rows));
  for (const line of others.skipped) console.log(line);
  const fmt = (x: number) => x.toExponential(1);
  console.log(`parity at the initial params, max |nnc − peer| of the output probabilities: ${Object.entries(parity).map(([e, p]) => `${e} MLP ${fmt(p.mlp)}, conv ${fmt(p.conv)}`).join("; ")}`);
  const checks = cpuTargets(rows, bound);
  console.log("\ntargets (from the issues, for a 2-core machine):");
  for (const c of checks) {
    console.log(`  ${c.met === null ? "–" : c.met ? "met" : "missed"}  ${c.target}: ${c.value}`);
    if (c.floor) console.log(`          ${c.floor}`);
  }
  return { rows, parity, targets: checks, simdPeak: peak, backends, peers: others.versions, skipped: others.skipped, threadsOption: fixture.mlp.threadsOption };
}
