// Options a user gets wrong or stretches (issue 17, part 9): --dim placement
// and names, dims named like Object.prototype's properties, --threads beyond
// the cores, sizes that cannot be allocated, and the run's progress bar.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { capThreads, checkDimNames, checkModelFits, collectDims, UsageError } from "../src/cli-common.ts";
import { gradcheck, TooLargeError } from "../src/check/gradcheck.ts";
import { DataError } from "../src/data/errors.ts";
import { gradStats } from "../src/passes/stats.ts";
import { runGrad } from "../src/pipeline.ts";
import { runProgress } from "../src/train/loop.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-options-"));

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function grad(text: string) {
  const r = runGrad("m.nn", text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

const PROTO_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty"];
const protoModel = (name: string) => `dim batch\ndim ${name} = 3\ninput x: [batch, ${name}]\ntarget y: [batch, 2]\nparam W: [${name}, 2]\np = softmax(x W)\noutput p\nloss = cross_entropy(p, y)\n`;

describe("--dim", () => {
  it("takes one binding per flag, repeatable, or a comma list", () => {
    expect({ ...collectDims("b=2", collectDims("a=1", {})) }).toEqual({ a: 1, b: 2 });
    expect({ ...collectDims("a=1,b=2", {}) }).toEqual({ a: 1, b: 2 });
    expect(() => collectDims("a=0", {})).toThrow(UsageError);
    expect(() => collectDims("a", {})).toThrow(/NAME=SIZE/);
  });

  it("keeps __proto__ and constructor as ordinary keys", () => {
    const d = collectDims("__proto__=4,constructor=5", {});
    expect(Object.hasOwn(d, "__proto__") && d["__proto__"]).toBe(4);
    expect(Object.hasOwn(d, "constructor") && d["constructor"]).toBe(5);
  });

  it("rejects a dim the model does not have, naming the ones it has", () => {
    const g = grad(protoModel("hidden"));
    expect(() => checkDimNames(g.dims, collectDims("nonexistent=3", {}))).toThrow("the model has no dim `nonexistent` (its dims: `batch`, `hidden`)");
    expect(() => checkDimNames(g.dims, collectDims("hidden=3", {}))).not.toThrow();
  });

  it("does not swallow FILE: `nnc compile --stats --dim batch=100 FILE` (the README's order)", () => {
    const file = join(dir, "order.nn");
    writeFileSync(file, protoModel("hidden"));
    const r = nnc("compile", "--stats", "--dim", "batch=100", "--dim", "hidden=4", file, "-o", join(dir, "order.ts"));
    expect(r.stderr).toContain("memory (batch = 100, hidden = 4)");
    expect(r.code).toBe(0);
    const bad = nnc("compile", "--stats", "--dim", "nonexistent=3", file, "-o", join(dir, "order.ts"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("no dim `nonexistent`");
  });
});

describe.each(PROTO_NAMES)("a dim named %s gets its default", (name) => {
  const g = grad(protoModel(name));

  it("in --stats", () => {
    expect(gradStats(g, {}).dims[name]).toBe(3);
    expect(gradStats(g, collectDims(`${name}=5`, {})).dims[name]).toBe(5);
  });

  it("in the emitted CPU module", async () => {
    const out = join(ROOT, "test", ".generated", "options");
    mkdirSync(out, { recursive: true });
    const path = join(out, `proto_${name}.ts`);
    writeFileSync(path, emitCpuModule(g));
    const mod = (await import(pathToFileURL(path).href)) as { createModel(o: object): { dims: Record<string, number> } };
    expect(mod.createModel({ dims: { batch: 2 }, seed: 1 }).dims[name]).toBe(3);
    const given: Record<string, number> = Object.assign(Object.create(null), { batch: 2, [name]: 5 });
    expect(mod.createModel({ dims: given, seed: 1 }).dims[name]).toBe(5);
  });
});

describe("--threads", () => {
  it("is capped at the machine's cores, with a note", () => {
    expect(capThreads(2, 4)).toEqual({ threads: 2 });
    const capped = capThreads(64, 2);
    expect(capped.threads).toBe(2);
    expect(capped.note).toContain("this machine has 2 cores");
  });
});

describe("sizes that cannot be allocated", () => {
  const g = grad("dim batch\ndim hidden = 16\ninput x: [batch, 784]\ntarget y: [batch, 10]\nparam W0: [784, hidden]\nparam W1: [hidden, 10]\np = softmax(tanh(x W0) W1)\noutput p\nloss = cross_entropy(p, y)\n");

  it("are NNC520 with the memory they would need", () => {
    let error: unknown;
    try {
      checkModelFits(g, { batch: 32, hidden: 100_000_000 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).code).toBe("NNC520");
    expect((error as DataError).message).toMatch(/needs [\d.]+ (GiB|TiB) for its values at batch = 32, hidden = 100000000/);
    expect(() => checkModelFits(g, { batch: 32, hidden: 16 })).not.toThrow();
  });

  it("stop gradcheck before the interpreter allocates them", () => {
    expect(() => gradcheck(g, { dims: { batch: 3, hidden: 100_000_000 } })).toThrow(TooLargeError);
    const r = nnc("gradcheck", "--dim", "hidden=100000000", join(ROOT, "examples", "keras_mnist.nn"));
    expect(r.stderr).toMatch(/^error\[NNC520\]: gradcheck needs [\d.]+ TiB .* at batch = 3, hidden = 100000000/);
    expect(r.code).toBe(1);
  });

  it("end `nnc train --batch 100000000` with a coded error, not a stack trace", () => {
    const csv = join(dir, "tiny.csv");
    const cols = Array.from({ length: 20 }, (_, i) => i);
    writeFileSync(csv, `label,${cols.map((i) => `c${i}`).join(",")}\n0,${cols.join(",")}\n1,${cols.join(",")}\n`);
    const file = join(dir, "tiny.nn");
    writeFileSync(file, "dim batch\ninput x: [batch, 20]\ntarget y: [batch, 2]\nparam W: [20, 2]\np = softmax(x W)\noutput p\nloss = cross_entropy(p, y)\n");
    const r = nnc("train", file, "--data", csv, "--batch", "100000000", "--epochs", "1", "--out", join(dir, "run"));
    expect(r.stderr).toContain("error[NNC520]");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(1);
  });
});

describe("the progress bar", () => {
  it("counts steps over the whole run, not per epoch", () => {
    const o = { epochs: 10, startEpoch: 0 };
    expect(runProgress(o, 1, 1, 5)).toEqual({ done: 1, total: 50 });
    expect(runProgress(o, 3, 2, 5)).toEqual({ done: 12, total: 50 });
    expect(runProgress(o, 10, 5, 5)).toEqual({ done: 50, total: 50 });
    // After --resume from epoch 4: the bar covers the six epochs left.
    expect(runProgress({ epochs: 10, startEpoch: 4 }, 5, 1, 5)).toEqual({ done: 1, total: 30 });
  });
});
