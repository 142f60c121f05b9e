// Weights in and out: safetensors and .npy files written by nnc, read back;
// a safetensors file as another tool writes it (bytes spelled out here per
// the published format, in F16 and F64) loaded into an emitted module with
// loadParams and evaluated; the errors for weights that do not fit; and the
// `nnc export` and `nnc train --init-from` commands.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { readSafetensorsParams } from "../src/backend/cpu/runtime/weights.ts";
import { DataError } from "../src/data/errors.ts";
import { parseNpy } from "../src/data/npy.ts";
import { weightsFor, writeNpy, writeSafetensors } from "../src/export/weights.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";
import { REQUIRED, webgpuDevice } from "./webgpu-device.ts";

const ROOT = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "nnc-weights-"));
const MODEL = "model tiny\ndim batch\ninput x: [batch, 2]\ntarget y: [batch, 2]\nparam W: [2, 2] = uniform(-1, 1)\nparam b: [2] = zeros\nout = x W + b\noutput out\nloss = mse(out, y)\ntrain sgd(lr = 0.1)\n";

interface Model {
  params: Record<string, Float32Array>;
  forward(i: Record<string, Float32Array>): Record<string, Float32Array>;
  loadParams(bytes: Uint8Array): void;
  trainStep(b: Record<string, Float32Array>): number;
  saveCheckpoint(): Uint8Array;
}

async function tiny(): Promise<{ model: Model; g: NonNullable<ReturnType<typeof runGrad>["grad"]> }> {
  const r = runGrad("tiny.nn", MODEL);
  if (!r.grad) throw new Error(rendered(r));
  mkdirSync(join(import.meta.dirname, ".generated"), { recursive: true });
  const path = join(import.meta.dirname, ".generated", "weights-tiny.ts");
  writeFileSync(path, emitCpuModule(r.grad));
  const mod = (await import(pathToFileURL(path).href)) as { createModel(o: { dims: Record<string, number>; seed: number }): Model };
  return { model: mod.createModel({ dims: { batch: 2 }, seed: 1 }), g: r.grad };
}

/** A safetensors file as the safetensors library lays it out: u64 header length, JSON header padded with spaces to 8 bytes, data. */
function foreignSafetensors(): Uint8Array {
  const header = '{"W":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[2],"data_offsets":[8,24]}}';
  const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
  const bytes = new Uint8Array(8 + padded.length + 24);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(padded.length), true);
  bytes.set(new TextEncoder().encode(padded), 8);
  const data = 8 + padded.length;
  // W = [[1, -2], [0.5, 0]] in IEEE half precision; b = [0.25, -1] in double precision.
  [0x3c00, 0xc000, 0x3800, 0x0000].forEach((h, i) => view.setUint16(data + 2 * i, h, true));
  view.setFloat64(data + 8, 0.25, true);
  view.setFloat64(data + 16, -1, true);
  return bytes;
}

describe("safetensors", () => {
  it("loads another tool's file (F16, F64) into a module and evaluates it", async () => {
    const { model } = await tiny();
    model.loadParams(foreignSafetensors());
    expect([...model.params["W"]!]).toEqual([1, -2, 0.5, 0]);
    // out = x W + b for x = [[1, 2], [3, -1]]: [1 + 1 + 0.25, −2 + 0 − 1] and [3 − 0.5 + 0.25, −6 − 1].
    const out = model.forward({ x: Float32Array.of(1, 2, 3, -1) })["out"]!;
    expect([...out]).toEqual([2.25, -3, 2.75, -7]);
  });

  it("writes what it reads: names, shapes, values, a header padded to 8 bytes", () => {
    const bytes = writeSafetensors([{ name: "W", shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }, { name: "b", shape: [3], data: Float32Array.of(-1, 0, 1) }], { model: "m" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))["__metadata__"]).toEqual({ model: "m" });
    const back = readSafetensorsParams(bytes);
    expect(back.get("W")).toEqual({ shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) });
    expect(back.get("b")).toEqual({ shape: [3], data: Float32Array.of(-1, 0, 1) });
  });

  it("refuses a malformed file, saying why", () => {
    const good = foreignSafetensors();
    expect(() => readSafetensorsParams(good.subarray(0, good.length - 4))).toThrow(/"b" runs past the end of the file/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(0, 1e6, true);
    expect(() => readSafetensorsParams(huge)).toThrow(/header length 1000000 runs past the end/);
    expect(() => readSafetensorsParams(new TextEncoder().encode("\x02\0\0\0\0\0\0\0[]"))).toThrow(/not a JSON object/);
  });

  it("loadParams lists every missing, extra or mis-shaped tensor and changes nothing", async () => {
    const { model } = await tiny();
    const before = [...model.params["W"]!];
    const wrong = writeSafetensors([{ name: "W", shape: [3, 2], data: new Float32Array(6) }, { name: "bias", shape: [2], data: new Float32Array(2) }], {});
    expect(() => model.loadParams(wrong)).toThrow('loadParams: the weights do not fit the model: W has shape [3, 2] in the file but [2, 2] in the model; param b [2] is missing; "bias" is not a param of the model (its params: W, b)');
    expect([...model.params["W"]!]).toEqual(before);
  });
});

const gpu = await webgpuDevice();
if (typeof gpu === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${gpu}`);
const device = typeof gpu === "string" ? undefined : gpu.device;

describe.skipIf(device === undefined)("safetensors in a WebGPU module", () => {
  it("loadParams writes the params on the device, and refuses weights that do not fit", async () => {
    const r = runGrad("tiny.nn", MODEL);
    const path = join(import.meta.dirname, ".generated", "weights-tiny-webgpu.ts");
    writeFileSync(path, emitWebgpuModule(r.grad!).code);
    type GpuModel = { loadParams(b: Uint8Array): void; getParams(): Promise<Record<string, Float32Array>> };
    const mod = (await import(pathToFileURL(path).href)) as { createModel(o: { dims: Record<string, number>; device: GPUDevice }): Promise<GpuModel> };
    const model = await mod.createModel({ dims: { batch: 2 }, device: device! });
    model.loadParams(foreignSafetensors());
    expect(await model.getParams()).toEqual({ W: Float32Array.of(1, -2, 0.5, 0), b: Float32Array.of(0.25, -1) });
    expect(() => model.loadParams(writeSafetensors([], {}))).toThrow("loadParams: the weights do not fit the model: param W [2, 2] is missing; param b [2] is missing");
  });
});

describe("weights files for the compiler", () => {
  it("reads an nnc checkpoint's params, a safetensors file and a folder of .npy files alike", async () => {
    const { model, g } = await tiny();
    model.trainStep({ x: Float32Array.of(1, 2, 3, 4), y: Float32Array.of(0, 1, 1, 0) });
    const ckpt = join(dir, "tiny.nnck");
    writeFileSync(ckpt, model.saveCheckpoint());
    const st = join(dir, "tiny.safetensors");
    writeFileSync(st, writeSafetensors(g.params.map((p) => ({ name: p.name, shape: p.name === "W" ? [2, 2] : [2], data: model.params[p.name]! })), {}));
    const npy = join(dir, "npy");
    mkdirSync(npy);
    for (const p of ["W", "b"]) writeFileSync(join(npy, `${p}.npy`), writeNpy(p === "W" ? [2, 2] : [2], model.params[p]!));
    expect(parseNpy(readFileSync(join(npy, "W.npy")), "W.npy").dims).toEqual([2, 2]);
    for (const path of [ckpt, st, npy]) expect(weightsFor(g, path, { batch: 1 }), path).toEqual({ W: model.params["W"], b: model.params["b"] });
  });

  it("codes its errors: NNC501 missing, NNC502 malformed, NNC513 not fitting", async () => {
    const { g } = await tiny();
    const code = (path: string) => {
      try {
        weightsFor(g, path, {});
      } catch (e) {
        return e instanceof DataError ? e.code : String(e);
      }
      return "no error";
    };
    writeFileSync(join(dir, "junk.safetensors"), "not weights at all");
    writeFileSync(join(dir, "other.safetensors"), writeSafetensors([{ name: "W", shape: [2, 2], data: new Float32Array(4) }], {}));
    expect([code(join(dir, "nothing-here")), code(join(dir, "junk.safetensors")), code(join(dir, "other.safetensors"))]).toEqual(["NNC501", "NNC502", "NNC513"]);
  });
});

describe("nnc export and nnc train --init-from", () => {
  const nnc = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin", "nnc.js"), ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const src = join(dir, "tiny.nn");
  writeFileSync(src, MODEL);

  it("writes an ONNX file that ONNX Runtime runs with the weights of a safetensors file", async () => {
    writeFileSync(join(dir, "foreign.safetensors"), foreignSafetensors());
    const r = nnc("export", src, "--checkpoint", join(dir, "foreign.safetensors"), "-o", join(dir, "tiny.onnx"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const session = await ort.InferenceSession.create(join(dir, "tiny.onnx"));
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.of(1, 2, 3, -1), [2, 2]) });
    expect([...(out["out"]!.data as Float32Array)]).toEqual([2.25, -3, 2.75, -7]);
  });

  it("reports weights that do not fit with their code, and exits 1", () => {
    writeFileSync(join(dir, "bad.safetensors"), writeSafetensors([{ name: "W", shape: [2, 3], data: new Float32Array(6) }], {}));
    const r = nnc("export", src, "--checkpoint", join(dir, "bad.safetensors"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[NNC513]");
    expect(r.stderr).toContain("W has shape [2, 3] in the file but [2, 2] in the model; param b [2] is missing");
  });

  it("trains from --init-from weights: a run at a negligible learning rate ends where they started", () => {
    const model = join(dir, "cls.nn");
    writeFileSync(model, "model cls\ndim batch\ninput x: [batch, 2]\ntarget y: [batch, 2]\nparam W: [2, 2] = uniform(-1, 1)\np = softmax(x W)\noutput p\nloss = cross_entropy(p, y)\n");
    writeFileSync(join(dir, "d.csv"), "label,a,b\n0,1,2\n1,3,4\n");
    // Seed 9's initialisers differ from those of the default seed the run would draw.
    expect(nnc("export", model, "--format", "safetensors", "--seed", "9", "-o", join(dir, "init.safetensors")).status).toBe(0);
    const run = nnc("train", model, "--data", join(dir, "d.csv"), "--init-from", join(dir, "init.safetensors"), "--lr", "1e-30", "--epochs", "1", "--batch", "2", "--out", join(dir, "run"));
    expect(run.status, run.stderr).toBe(0);
    const init = readSafetensorsParams(readFileSync(join(dir, "init.safetensors"))).get("W")!.data;
    const r = runGrad("cls.nn", readFileSync(model, "utf8"));
    expect(weightsFor(r.grad!, join(dir, "run", "checkpoint.nnck"), {})["W"]).toEqual(init);
    writeFileSync(join(dir, "wrong.safetensors"), writeSafetensors([{ name: "W", shape: [3, 3], data: new Float32Array(9) }], {}));
    const refused = nnc("train", model, "--data", join(dir, "d.csv"), "--init-from", join(dir, "wrong.safetensors"), "--out", join(dir, "refused"));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error[NNC513]");
  });
});
