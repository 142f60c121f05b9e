// The whole compile path on mutated examples: every mutant that `nnc check`
// accepts must differentiate, compile for the CPU and for WebGPU (where
// WebGPU's limits allow), type-check under tsc --strict, and pass gradcheck
// wherever its derivative exists (a finite loss and gradient at the point).
// Mutants are seeded (NNC_FUZZ_SEED to explore others): the same ones on
// every run. The modules are type-checked in a few tsc runs: the verbatim
// runtime each one ends with is shared by every module that uses the same
// runtime, and each module's own code is checked in a namespace beside it.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { checkWebgpuLimits } from "../src/backend/webgpu/limits.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { runGrad } from "../src/pipeline.ts";
import { seededRandom } from "./helpers.ts";

const MUTANTS = 500;
const SEED = Number(process.env.NNC_FUZZ_SEED ?? 17);
const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "fuzz-compile");

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Replaces one match of `re` (chosen at random) by `f(match)`. */
function replaceOne(r: Rand, text: string, re: RegExp, f: (m: string) => string): string {
  const all = [...text.matchAll(re)];
  if (all.length === 0) return text;
  const m = pick(r, all);
  return text.slice(0, m.index) + f(m[0]) + text.slice(m.index + m[0].length);
}

const ACTIVATIONS = ["relu", "tanh", "sigmoid", "abs", "exp", "leaky_relu", "softmax", "log_softmax"];
const LOSSES = ["mse", "cross_entropy", "softmax_cross_entropy", "binary_cross_entropy", "hinge"];
const OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam", "adagrad"];
const INITS = ["zeros", "ones", "xavier", "he", "uniform(-1, 1)", "normal(0, 0.1)"];
const WRAPS = ["relu(E)", "tanh(E)", "(E) * 2", "(E) + 1", "maximum(E, 0)", "minimum(E, 1)", "dropout(E, 0.25)", "(E) ^ 2", "-(E)", "sigmoid(E) * (E)"];
const SIZES = ["1", "2", "3", "5", "8"];

/** Edits that keep a model mostly well-formed, so that many mutants pass `nnc check` and reach code generation. */
const MUTATORS: ((r: Rand, t: string) => string)[] = [
  (r, t) => replaceOne(r, t, new RegExp(`\\b(${ACTIVATIONS.join("|")})(?=\\()`, "g"), () => pick(r, ACTIVATIONS)),
  (r, t) => replaceOne(r, t, new RegExp(`\\b(${LOSSES.join("|")})(?=\\()`, "g"), () => pick(r, LOSSES)),
  (r, t) => replaceOne(r, t, new RegExp(`\\b(${OPTIMIZERS.join("|")})(?=\\()`, "g"), () => pick(r, OPTIMIZERS)),
  (r, t) => replaceOne(r, t, /= (zeros|ones|xavier|he|uniform\([^)]*\)|normal\([^)]*\))/g, () => `= ${pick(r, INITS)}`),
  (r, t) => replaceOne(r, t, /^(\w+\s*=\s*)([^#\n]+?)(\s*(#.*)?)$/gm, (line) => line.replace(/^(\w+\s*=\s*)([^#\n]+?)(\s*(#.*)?)$/, (_m, lhs: string, e: string, rest: string) => lhs + pick(r, WRAPS).replace(/E/g, e) + rest)),
  (r, t) => replaceOne(r, t, /(?<=[[,]\s*)\d+(?=\s*[\],])/g, () => pick(r, SIZES)),
  (r, t) => replaceOne(r, t, /^loss\s*=\s*[^#\n]+/gm, (line) => `${line} + 0.01 * ${pick(r, ["sumsq", "sumabs"])}(${pick(r, [...t.matchAll(/^param\s+(\w+)/gm)].map((m) => m[1]!).concat(["x"]))})`),
  (r, t) => replaceOne(r, t, /\b(max|sum|mean)\((\w+)\)/g, (m) => m.replace(/\)$/, ", axis = -1, keepdims = true)")),
  // A raw edit: delete a few characters or duplicate a line.
  (r, t) => {
    const at = Math.floor(r() * t.length);
    return r() < 0.5 ? t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 4)) : t.replace(pick(r, t.split("\n")), (line) => `${line}\n${line}`);
  },
];

interface Mutant {
  readonly name: string;
  readonly text: string;
  readonly grad: GradGraph;
}

/**
 * Examples whose modules run to 10,000–40,000 lines (sixteen attention heads;
 * eight batch-normalised convolutions): a few dozen mutants of them make tsc
 * check some 80 MB, many minutes on two cores. Their compile path is tested
 * as every example's is (goldens, tsc --strict of the module, both parities).
 */
const TOO_LARGE: ReadonlySet<string> = new Set(["gpt.nn", "mnist_resnet.nn"]);

/** Seeded mutants of the examples that `nnc check` accepts, with their gradient graphs. */
function acceptedMutants(): { mutants: Mutant[]; tried: number } {
  const dir = join(ROOT, "examples");
  const sources = readdirSync(dir).filter((f) => f.endsWith(".nn") && !TOO_LARGE.has(f)).sort().map((f) => [f, readFileSync(join(dir, f), "utf8")] as const);
  const r = seededRandom(SEED);
  const mutants: Mutant[] = [];
  const seen = new Set<string>();
  let tried = 0;
  while (mutants.length < MUTANTS && tried < MUTANTS * 20) {
    tried++;
    const [file, source] = pick(r, sources);
    let text = source;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) text = pick(r, MUTATORS)(r, text);
    if (text === source || seen.has(text)) continue;
    seen.add(text);
    const result = runGrad(file, text);
    if (result.diagnostics.hasErrors || !result.grad) continue;
    mutants.push({ name: `m${mutants.length}_${file.replace(/\.nn$/, "")}`, text, grad: result.grad });
  }
  return { mutants, tried };
}

const RUNTIME = /^\/\/ ---- runtime\b.*$/m;
const WGSL = /^\/\/ ---- WGSL kernels\b.*$/m;

/**
 * Splits a module into its own code and the verbatim runtime it includes. The
 * own code is wrapped in a namespace, so that many modules share one file with
 * one copy of the runtime; a module without the marker stays whole.
 */
function split(code: string): { runtime: string; own: string } {
  const start = code.search(RUNTIME);
  if (start < 0) return { runtime: "", own: code };
  const rest = code.slice(start);
  const end = rest.search(WGSL);
  return end < 0 ? { runtime: rest, own: code.slice(0, start) } : { runtime: rest.slice(0, end), own: code.slice(0, start) + rest.slice(end) };
}

const DECLARATION = /^(?:async )?(?:function\*?|const|let|interface|type|class) ([A-Za-z0-9_$]+)/gm;

/** A runtime's top-level declarations by name, in order (each starts at column 0, as the runtime's rules require). */
function declarations(runtime: string): [string, string][] {
  // Not those inside a template literal (the helper threads' copy of the runtime is one).
  const ticks = [...runtime.matchAll(/(?<!\\)`/g)].map((m) => m.index);
  const insideTemplate = (at: number) => ticks.filter((t) => t < at).length % 2 === 1;
  const starts = [...runtime.matchAll(DECLARATION)].filter((m) => !insideTemplate(m.index));
  return starts.map((m, i) => [m[1]!, runtime.slice(m.index, starts[i + 1]?.index ?? runtime.length)]);
}

/**
 * The union of the runtimes: every declaration once, each new one placed
 * after its predecessor in the runtime that brought it, so that the file
 * order of the kernels (which every runtime keeps) is kept.
 */
function unionRuntime(runtimes: Iterable<string>): string {
  const text = new Map<string, string>();
  const order: string[] = [];
  for (const runtime of runtimes) {
    let after = -1;
    for (const [name, decl] of declarations(runtime)) {
      if (!text.has(name)) {
        text.set(name, decl);
        order.splice(after + 1, 0, name);
      }
      after = order.indexOf(name);
    }
  }
  return order.map((n) => text.get(n)!).join("");
}

/**
 * Type-checks modules under the examples' tsc options in one tsc run: each
 * module's own code in a namespace, beside one copy of every runtime
 * declaration they use (a module without the runtime marker stays whole, in
 * a file of its own). Resolves to tsc's output.
 */
function typecheck(modules: readonly { name: string; code: string }[], target: "cpu" | "webgpu"): Promise<string> {
  const dir = join(OUT, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const parts = modules.map((m) => ({ name: m.name, ...split(m.code) }));
  const whole = parts.filter((p) => p.runtime === "").map((p) => {
    const path = join(dir, `${p.name}.ts`);
    writeFileSync(path, p.own);
    return path;
  });
  const shared = parts.filter((p) => p.runtime !== "");
  const all = join(dir, "modules.ts");
  writeFileSync(all, `${shared.map((p) => `// ${p.name}\nexport namespace ${p.name} {\n${p.own}\n}\n`).join("\n")}\n${unionRuntime(new Set(shared.map((p) => p.runtime)))}\n`);
  const types = target === "webgpu" ? { types: ["@webgpu/types"], typeRoots: [join(ROOT, "node_modules")] } : { types: [] };
  const options = { strict: true, noEmit: true, noUnusedLocals: true, noUnusedParameters: true, target: "ES2022", module: "ES2022", lib: ["ES2022", "DOM"], skipLibCheck: true, ...types };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: [all, ...whole] }));
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" }, (error, stdout) => {
      done(error ? stdout || String(error) : "");
    });
  });
}

describe(`the compile path on ${MUTANTS} mutants of the examples (seed ${SEED})`, () => {
  const { mutants, tried } = acceptedMutants();
  const cpu: { name: string; code: string }[] = [];
  const webgpu: { name: string; code: string }[] = [];

  it(`finds ${MUTANTS} mutants that nnc check accepts`, () => {
    expect(mutants.length, `only ${mutants.length} of ${tried} tries passed nnc check`).toBe(MUTANTS);
  });

  it("compiles every one for the CPU and for WebGPU", () => {
    for (const m of mutants) {
      cpu.push({ name: m.name, code: emitCpuModule(m.grad) });
      if (!checkWebgpuLimits(m.grad).hasErrors) webgpu.push({ name: m.name, code: emitWebgpuModule(m.grad).code });
    }
    expect(cpu.length).toBe(mutants.length);
    expect(webgpu.length).toBeGreaterThan(mutants.length / 2);
  }, 180_000);

  it("type-checks every CPU and WebGPU module under tsc --strict", async () => {
    // Two tsc processes at once: one per core.
    const [cpuErrors, webgpuErrors] = await Promise.all([typecheck(cpu, "cpu"), typecheck(webgpu, "webgpu")]);
    expect(cpuErrors).toBe("");
    expect(webgpuErrors).toBe("");
  }, 180_000);

  it("passes gradcheck wherever the derivative exists", () => {
    let checked = 0;
    for (const m of mutants) {
      // Small sizes keep it quick; the derivation does not depend on them.
      const dims = Object.fromEntries(m.grad.dims.map((d) => [d.name, Math.min(d.default ?? 2, 8)]));
      let check;
      try {
        check = gradcheck(m.grad, { dims, seed: 1, directions: 2 });
      } catch {
        continue; // the reference interpreter refuses the point (targets that are not distributions, say)
      }
      const finite = Number.isFinite(check.loss) && check.params.every((p) => Number.isFinite(p.maxAbsError));
      if (!finite) continue;
      expect(check.ok, `${m.name}\n${m.text}\n${formatGradCheck(check)}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(mutants.length / 2);
  }, 180_000);
});
