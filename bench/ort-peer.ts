// ONNX Runtime as an inference peer: the forward graph `nnc export --format
// onnx` writes (src/export: the same exportForward, here with the bench's
// initial params), run by onnxruntime-node (native, one intra-op thread) and,
// where it is installed, by onnxruntime-web on its WebAssembly backend (one
// thread), the platform nnc's CPU modules run on. Both are optional: a
// missing one is a "skipped: install …" line, never a silent gap.
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type * as OrtNode from "onnxruntime-node";
import { DiagnosticBag } from "../src/diag/diagnostic.ts";
import { exportForward } from "../src/export/onnx-export.ts";
import type { CompiledExample } from "./nnc-models.ts";

/** The part of the API both packages share (onnxruntime-common's). */
export type Ort = Pick<typeof OrtNode, "InferenceSession" | "Tensor" | "env">;
type Session = OrtNode.InferenceSession;

export type OrtFlavour = "node" | "web";
export const ORT_PACKAGE: Record<OrtFlavour, string> = { node: "onnxruntime-node", web: "onnxruntime-web" };

/**
 * Where to import an optional peer from: the project's node_modules, or the
 * node_modules under $NNC_BENCH_MODULES when it has the package there, so
 * that a peer installed outside the project (`npm install --prefix DIR
 * onnxruntime-web`) can be measured without making it a dependency.
 */
function peerSpecifier(name: string): string {
  const dir = process.env["NNC_BENCH_MODULES"];
  if (!dir) return name;
  try {
    return pathToFileURL(createRequire(join(resolve(dir), "package.json")).resolve(name)).href;
  } catch {
    return name;
  }
}

/** The package (`name` only differs in the test of a missing one), or the "skipped: …" line saying how to get it. */
export async function loadOrt(flavour: OrtFlavour, name = ORT_PACKAGE[flavour]): Promise<Ort | string> {
  try {
    // A variable specifier: onnxruntime-web is not a dependency, and TypeScript must not insist on it.
    const mod = (await import(peerSpecifier(name))) as Ort & { default?: Ort };
    const ort = mod.InferenceSession ? mod : mod.default!;
    // One thread for the WebAssembly backend; set before the first session starts it.
    if (flavour === "web") Object.assign(ort.env.wasm, { numThreads: 1, proxy: false });
    return ort;
  } catch (e) {
    return `skipped: install ${name} (npm install --save-dev ${name}); it did not load: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** The example's forward graph as `nnc export --format onnx` writes it: batch symbolic, the other dims fixed. */
export function exportedForward(ex: CompiledExample, params: Record<string, Float32Array>, dims: Record<string, number> = {}): Uint8Array {
  const diags = new DiagnosticBag();
  const bytes = exportForward(ex.graph, new Map(Object.entries(params)), diags, { dims });
  if (!bytes) throw new Error(`ONNX export of ${ex.spec.model} failed: ${diags.items.map((d) => d.message).join("; ")}`);
  return bytes;
}

/** A session on one thread, with every graph optimization on (ONNX Runtime's default level). */
export async function oneThreadSession(ort: Ort, model: Uint8Array, flavour: OrtFlavour): Promise<Session> {
  const options: OrtNode.InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    ...(flavour === "web" ? { executionProviders: ["wasm"] } : {}),
  };
  return ort.InferenceSession.create(model, options);
}

/**
 * Inference on fixed inputs, read back as nnc's forward returns its output:
 * a new input tensor per call over the same array (no copy), then the output's data.
 */
export function inferRunner(ort: Ort, session: Session, input: string, output: string, x: Float32Array, shape: readonly number[]): () => Promise<Float32Array> {
  return async () => {
    const out = await session.run({ [input]: new ort.Tensor("float32", x, shape) });
    return out[output]!.data as Float32Array;
  };
}
