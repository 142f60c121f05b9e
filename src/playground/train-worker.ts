// The page's training Worker: compiles the editor's model with the project's
// own emitters (the CPU module, whose matrix products run on WebAssembly
// SIMD, or the WebGPU module), strips its types (sucrase, via the esbuild
// shim), imports it from a Blob URL and trains it on the bundled MNIST subset,
// reporting the losses as it goes. Stop pauses between steps; resume goes on.
import { emitCpuModule } from "../backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../backend/webgpu/emit-module.ts";
import { checkWebgpuLimits } from "../backend/webgpu/limits.ts";
import { renderDiagnostic } from "../diag/render.ts";
import type { GradGraph } from "../ir/graph.ts";
import { runGrad } from "../pipeline.ts";
import { loadMnist, type Mnist } from "./mnist.ts";
import { GRID_IMAGES, MODEL_FILE, type Target, type TrainEvent, type TrainRequest } from "./protocol.ts";
import { transformSync } from "./shims/esbuild.ts";

type Arrays = Record<string, Float32Array | Int32Array>;
type Awaitable<T> = T | Promise<T>;
interface Model {
  trainStep(batch: Arrays): Awaitable<number>;
  forward(inputs: Arrays): Awaitable<Arrays>;
  saveCheckpoint(): Awaitable<Uint8Array>;
  readonly step: number;
  readonly wasm?: boolean;
  dispose?(): void;
}
interface Module {
  createModel(options: { dims: Record<string, number>; seed?: number }): Awaitable<Model>;
}

/** What the playground can feed: one input of 784 values per example, one one-hot target of 10. */
interface Feed {
  readonly input: string;
  readonly target: string;
  readonly output: string;
  readonly batch: number;
  /** The name of the input's first dimension, when it is one. */
  readonly batchDim: string | undefined;
}

const scope = self as unknown as { onmessage: ((e: MessageEvent<TrainRequest>) => void) | null; postMessage(m: TrainEvent, transfer?: Transferable[]): void };
const post = (m: TrainEvent, transfer: Transferable[] = []) => scope.postMessage(m, transfer);
/** Steps between progress messages, and between evaluations on the test images. */
const CHUNK = 5;
const EVAL_EVERY = 50;

let data: Mnist | undefined;
interface Session {
  readonly model: Model;
  readonly feed: Feed;
  readonly x: Float32Array;
  readonly y: Float32Array;
  cursor: number;
}
let session: Session | undefined;
let running = false;
let loop: Promise<void> | undefined;

function feedOf(g: GradGraph): Feed | string {
  const [input] = g.inputs;
  const [target] = g.targets;
  const [output] = g.outputs;
  const per = (id: number) => g.shapes[id]!.slice(1).reduce<number>((a, d) => a * (typeof d === "number" ? d : NaN), 1);
  if (g.inputs.length !== 1 || !input || per(input.node) !== 784) return "the playground trains on MNIST: the model needs one input of 784 values per example, e.g. `input x: [batch, 784]`";
  if (g.targets.length !== 1 || !target || per(target.node) !== 10 || g.dtypes[target.node] !== "f32") return "the playground trains on MNIST: the model needs one one-hot target of 10, e.g. `target y: [batch, 10]`";
  if (!output) return "the model needs an `output` to predict the test images' labels";
  const first = g.shapes[input.node]![0]!;
  // A batch dimension takes the train statement's batch (at most 100); a fixed first dimension is the batch.
  const batch = typeof first === "number" ? first : Math.min(100, g.train?.options.get("batch") ?? 32);
  return { input: input.name, target: target.name, output: output.name, batch, batchDim: typeof first === "number" ? undefined : first };
}

async function compile(text: string, target: Target): Promise<void> {
  const r = runGrad(MODEL_FILE, text);
  if (!r.grad) throw new Error(r.diagnostics.sorted().map((d) => renderDiagnostic(d)).join("\n\n") || "the model has no loss to train");
  const g = r.grad;
  const feed = feedOf(g);
  if (typeof feed === "string") throw new Error(feed);
  let code: string;
  if (target === "webgpu") {
    const limits = checkWebgpuLimits(g);
    if (limits.hasErrors) throw new Error(limits.sorted().map((d) => renderDiagnostic(d)).join("\n\n"));
    code = emitWebgpuModule(g).code;
  } else code = emitCpuModule(g);
  const url = URL.createObjectURL(new Blob([transformSync(code).code], { type: "text/javascript" }));
  const mod = (await import(url)) as Module;
  URL.revokeObjectURL(url);
  const dims: Record<string, number> = {};
  for (const d of g.dims) dims[d.name] = d.default ?? feed.batch;
  if (feed.batchDim !== undefined) dims[feed.batchDim] = feed.batch;
  const model = await mod.createModel({ dims, seed: 1 });
  data ??= await loadMnist(new URL("mnist.bin", self.location.href).href);
  session = { model, feed, x: new Float32Array(feed.batch * 784), y: new Float32Array(feed.batch * 10), cursor: 0 };
  const backend = target === "webgpu" ? "WebGPU" : model.wasm ? "CPU, WebAssembly SIMD" : "CPU, JavaScript";
  post({ type: "compiled", module: code, target, batch: feed.batch, backend });
}

/** Copies `n` images from `set` starting at `from` (wrapping) into x (pixels / 255) and y (one-hot). */
function fill(x: Float32Array, y: Float32Array | undefined, images: Uint8Array, labels: Uint8Array, from: number, n: number): void {
  const count = labels.length;
  y?.fill(0);
  for (let r = 0; r < n; r++) {
    const i = (from + r) % count;
    for (let p = 0; p < 784; p++) x[r * 784 + p] = images[i * 784 + p]! / 255;
    if (y) y[r * 10 + labels[i]!] = 1;
  }
}

async function evaluate(s: Session): Promise<void> {
  const { model, feed, x } = s;
  const d = data!;
  const batches = Math.max(1, Math.floor(d.testLabels.length / feed.batch));
  const predicted: number[] = [];
  for (let b = 0; b < batches; b++) {
    fill(x, undefined, d.testImages, d.testLabels, b * feed.batch, feed.batch);
    const out = (await model.forward({ [feed.input]: x }))[feed.output]!;
    for (let r = 0; r < feed.batch; r++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (out[r * 10 + c]! > out[r * 10 + best]!) best = c;
      predicted.push(best);
    }
  }
  const labels = predicted.map((_, i) => d.testLabels[i % d.testLabels.length]!);
  const right = predicted.filter((p, i) => p === labels[i]).length;
  post({ type: "evaluated", step: model.step, accuracy: right / predicted.length, predicted: predicted.slice(0, GRID_IMAGES), labels: labels.slice(0, GRID_IMAGES) });
}

/** Starts the training loop unless one runs: a stop lets the running loop finish its step before another may start. */
async function startLoop(): Promise<void> {
  await loop;
  if (running || !session) return;
  running = true;
  loop = run(session);
  return loop;
}

async function run(s: Session): Promise<void> {
  const d = data!;
  const batch = { [s.feed.input]: s.x, [s.feed.target]: s.y };
  while (running) {
    const losses: number[] = [];
    for (let k = 0; k < CHUNK; k++) {
      fill(s.x, s.y, d.trainImages, d.trainLabels, s.cursor, s.feed.batch);
      s.cursor = (s.cursor + s.feed.batch) % d.trainLabels.length;
      losses.push(await s.model.trainStep(batch));
    }
    post({ type: "progress", step: s.model.step, losses });
    if (s.model.step % EVAL_EVERY < CHUNK) await evaluate(s);
    // Lets a stop message in between chunks.
    await new Promise((r) => setTimeout(r, 0));
  }
  await evaluate(s);
  post({ type: "stopped", step: s.model.step });
}

async function handle(m: TrainRequest): Promise<void> {
  switch (m.type) {
    case "start":
      running = false;
      await loop;
      session?.model.dispose?.();
      session = undefined;
      await compile(m.text, m.target);
      return startLoop();
    case "stop":
      running = false;
      return;
    case "resume":
      return startLoop();
    case "checkpoint":
      if (session) {
        const bytes = await session.model.saveCheckpoint();
        post({ type: "checkpoint", bytes: bytes.slice() });
      }
      return;
  }
}

scope.onmessage = (e) => {
  handle(e.data).catch((err: unknown) => {
    running = false;
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  });
};
