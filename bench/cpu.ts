// The cpu suite: nnc's CPU backend against TensorFlow.js in one run, on the
// same work: square matmuls, the lesson 9 MLP (examples/mnist_tanh.nn) train
// step and inference, and the conv example's train step. For each case the
// engines take turns, one sample each per round (timeInterleaved), so load
// from elsewhere on a shared machine hits them alike; tfjs backends switch
// between samples, never inside one. Ratios are peer time / nnc time: above
// 1, nnc is faster.
import { compileExample } from "./nnc-models.ts";
import { makeFixture, nncWorkload, tfWorkload, type Fixture, type Runner, type Workload } from "./cpu-workloads.ts";
import { liveTensors, tf, useBackend, wasmThreadsSupported, type BackendInfo } from "./tfjs-env.ts";
import { duration, markdownTable, ratio } from "./table.ts";
import { breathe, timeInterleaved, type TimingOptions } from "./timing.ts";

export const ENGINES = [
  { id: "nnc", label: "nnc" },
  { id: "nnc2", label: "nnc, 2 threads" },
  { id: "tfjsCpu", label: "tfjs-cpu" },
  { id: "tfjsWasm", label: "tfjs-wasm, 1 thread" },
  { id: "tfjsWasm2", label: "tfjs-wasm, 2 threads" },
] as const;
export type EngineId = (typeof ENGINES)[number]["id"];

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
    matmul(256),
    matmul(512),
    matmul(1024),
    { id: "mlpTrain", label: "MLP train step, batch 100", pick: (w) => w.mlpTrain },
    { id: "mlpInfer100", label: "MLP inference, batch 100", pick: (w) => w.mlpInfer100 },
    { id: "mlpInfer1", label: "MLP inference, batch 1", pick: (w) => w.mlpInfer1 },
    { id: "convTrain", label: `conv train step, batch ${f.convBatch}`, pick: (w) => w.convTrain },
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

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean | null;
}

/** One engine's side of the suite: its workload (or why it has none), and how to make it current. */
interface Engine {
  id: EngineId;
  workload: Workload | string;
  enter?: () => Promise<unknown>;
}

/** Times one case on every engine that has it, interleaved, filling `row`. */
async function measure(row: CpuRow, c: Case, engines: readonly Engine[], o: TimingOptions): Promise<void> {
  const contestants: { id: EngineId; run: () => unknown; enter?: () => Promise<unknown> }[] = [];
  for (const e of engines) {
    if (typeof e.workload === "string") {
      row.notes[e.id] = e.workload;
      continue;
    }
    await e.enter?.(); // a tfjs workload makes its tensors on the backend current when it is asked
    const run = c.pick(e.workload);
    if (typeof run === "string") row.notes[e.id] = run;
    else contestants.push({ id: e.id, run, ...(e.enter ? { enter: e.enter } : {}) });
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

function targets(rows: CpuRow[]): TargetCheck[] {
  const byId = (id: string) => rows.find((r) => r.id === id)!;
  const speedup = (id: string, engine: EngineId, peer: EngineId) => {
    const r = byId(id);
    return r.ms[engine] === null || r.ms[peer] === null ? null : r.ms[peer]! / r.ms[engine]!;
  };
  const check = (target: string, value: number | null, met: (v: number) => boolean, unit: string): TargetCheck => ({
    target,
    value: value === null ? "n/a" : `${value.toFixed(2)}${unit}`,
    met: value === null ? null : met(value),
  });
  const out = ["matmul256", "matmul512", "matmul1024"].map((id) =>
    check(`${byId(id).label}: ≥ 6 GFLOP/s per thread`, byId(id).gflops?.nnc ?? null, (v) => v >= 6, " GFLOP/s"));
  out.push(
    check("MLP train step: ≥ 1.25× faster than tfjs-wasm, 1 thread", speedup("mlpTrain", "nnc", "tfjsWasm"), (v) => v >= 1.25, "×"),
    check("MLP train step, nnc on 2 threads: ≥ 2.4× faster than tfjs-wasm, 1 thread", speedup("mlpTrain", "nnc2", "tfjsWasm"), (v) => v >= 2.4, "×"),
    check("MLP train step: ≥ 7× faster than tfjs-cpu", speedup("mlpTrain", "nnc", "tfjsCpu"), (v) => v >= 7, "×"),
  );
  const infer1 = byId("mlpInfer1").ms.nnc;
  out.push(check("MLP inference, batch 1: ≤ 60 µs", infer1 === null ? null : infer1 * 1000, (v) => v <= 60, " µs"));
  return out;
}

export function cpuTable(rows: readonly CpuRow[]): string {
  const cell = (r: CpuRow, e: EngineId) => {
    const ms = r.ms[e];
    if (ms === null) return r.notes[e] ?? "–";
    const g = r.gflops?.[e];
    return g === undefined ? duration(ms) : `${duration(ms)} (${g.toFixed(1)} GFLOP/s)`;
  };
  const header = ["benchmark", ...ENGINES.map((e) => e.label), "nnc vs tfjs-cpu", "nnc vs tfjs-wasm", "nnc 2 threads vs tfjs-wasm"];
  const body = rows.map((r) => [
    r.label,
    ...ENGINES.map((e) => cell(r, e.id)),
    ratio(r.ms.nnc, r.ms.tfjsCpu),
    ratio(r.ms.nnc, r.ms.tfjsWasm),
    ratio(r.ms.nnc2, r.ms.tfjsWasm),
  ]);
  return markdownTable(header, body);
}

export async function cpuSuite(o: TimingOptions): Promise<unknown> {
  const fixture = await makeFixture(await compileExample("mnist_tanh.nn"), await compileExample("mnist_conv.nn"));
  const list = cases(fixture);
  const rows: CpuRow[] = list.map((c) => ({ id: c.id, label: c.label, ms: { nnc: null, nnc2: null, tfjsCpu: null, tfjsWasm: null, tfjsWasm2: null }, notes: {} }));

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

  for (const [i, c] of list.entries()) await measure(rows[i]!, c, engines, o);
  for (const e of engines) if (typeof e.workload !== "string") e.workload.dispose();
  const left = liveTensors() - tensorsBefore!;
  if (left !== 0) process.stderr.write(`  warning: the tfjs workloads left ${left} tensor(s) behind\n`);

  console.log(`\nnnc CPU backend vs TensorFlow.js ${tf.version.tfjs}: median per call; ratios are tfjs time / nnc time (above 1: nnc is faster)`);
  console.log(cpuTable(rows));
  const fmt = (x: number) => x.toExponential(1);
  console.log(`parity at the initial params, max |nnc − tfjs| of the output probabilities: ${Object.entries(parity).map(([e, p]) => `${e} MLP ${fmt(p.mlp)}, conv ${fmt(p.conv)}`).join("; ")}`);
  const checks = targets(rows);
  console.log("\ntargets (from the issue, for a 2-core machine):");
  for (const c of checks) console.log(`  ${c.met === null ? "–" : c.met ? "met" : "missed"}  ${c.target}: ${c.value}`);
  return { rows, parity, targets: checks, backends, threadsOption: fixture.mlp.threadsOption };
}
