// The work the cpu suite times, once per engine: each engine gets the same
// inputs (same shapes, float32) and the same initial params, and every call
// ends with its result in a plain JavaScript array, as an nnc call does.
import { squareProduct } from "./matmul.ts";
import { threadedModel, type BenchModel, type CompiledExample } from "./nnc-models.ts";
import { tfConv, tfMlp, type TfNet } from "./tfjs-models.ts";
import { tf } from "./tfjs-env.ts";
import { filled, oneHot } from "./timing.ts";

/**
 * A call to time; a peer in another process that times its own samples
 * (milliseconds for `calls` calls); or why this engine has none ("n/a (…)").
 */
export type Runner = (() => unknown) | { timed: (calls: number) => Promise<number> } | string;

export interface Workload {
  matmul(n: number): Runner;
  mlpTrain: Runner;
  mlpInfer100: Runner;
  mlpInfer1: Runner;
  convTrain: Runner;
  /** The conv example's forward pass at its own batch, inference mode. */
  convInfer: Runner;
  dispose(): void;
}

/** Everything both sides start from: the compiled examples, their initial params and the data. */
export interface Fixture {
  mlp: CompiledExample;
  conv: CompiledExample;
  convBatch: number;
  mlpParams: Record<string, Float32Array>;
  convParams: Record<string, Float32Array>;
  x100: Float32Array;
  y100: Float32Array;
  x1: Float32Array;
  xConv: Float32Array;
  yConv: Float32Array;
  /** nnc's inference outputs at the initial params, to check the peers compute the same. */
  mlpOut100: Float32Array;
  convOut: Float32Array;
}

const copyParams = (p: Record<string, Float32Array>) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.slice()]));

export async function makeFixture(mlp: CompiledExample, conv: CompiledExample): Promise<Fixture> {
  const convBatch = conv.spec.train.batch ?? 128; // the example's own batch (128)
  const x100 = filled(100 * 784, 1);
  const xConv = filled(convBatch * 784, 2);
  const m = mlp.createModel({ dims: { batch: 100 }, seed: 1 });
  const c = conv.createModel({ dims: { batch: convBatch }, seed: 1 });
  return {
    mlp, conv, convBatch,
    mlpParams: copyParams(m.params),
    convParams: copyParams(c.params),
    x100, y100: oneHot(100, 10), x1: x100.slice(0, 784), xConv, yConv: oneHot(convBatch, 10),
    mlpOut100: ((await m.forward({ l0: x100 }))["l2"] as Float32Array).slice(),
    convOut: ((await c.forward({ pixels: xConv }))["p"] as Float32Array).slice(),
  };
}

/** Square matrices for an n×n×n product. */
export const matrices = (n: number) => ({ a: filled(n * n, 11, -0.5, 0.5), b: filled(n * n, 12, -0.5, 0.5) });

/** nnc: the emitted modules, on one thread or, where the module offers it, on `threads`. */
export function nncWorkload(f: Fixture, threads: number): Workload {
  const create = (ex: CompiledExample, batch: number): BenchModel | string => {
    if (threads === 1) return ex.createModel({ dims: { batch }, seed: 1 });
    return threadedModel(ex, { batch }, threads);
  };
  const m100 = create(f.mlp, 100);
  const m1 = create(f.mlp, 1);
  const c = create(f.conv, f.convBatch);
  const models = [m100, m1, c].filter((m): m is BenchModel => typeof m !== "string");
  const lr = f.mlp.spec.train.lr;
  const use = (m: BenchModel | string, call: (m: BenchModel) => unknown): Runner => (typeof m === "string" ? m : () => call(m));
  return {
    matmul(n) {
      // The runtime's gemm has no thread count of its own; a threaded product is the models' business.
      if (threads !== 1) return "n/a (gemm timed on one thread)";
      return squareProduct(n, true);
    },
    mlpTrain: use(m100, (m) => m.trainStep({ l0: f.x100, y: f.y100 }, { lr })),
    mlpInfer100: use(m100, (m) => m.forward({ l0: f.x100 })),
    mlpInfer1: use(m1, (m) => m.forward({ l0: f.x1 })),
    convTrain: use(c, (m) => m.trainStep({ pixels: f.xConv, y: f.yConv }, { lr: f.conv.spec.train.lr })),
    convInfer: use(c, (m) => m.forward({ pixels: f.xConv })),
    dispose: () => models.forEach((m) => m.dispose?.()),
  };
}

/** Largest |a - b| over two arrays of the same length. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** "n/a (…)" naming the kernels the current tfjs backend lacks (tfjs-wasm cannot train a convolution), or undefined. */
function missingKernels(names: readonly string[]): string | undefined {
  const missing = names.filter((k) => tf.getKernel(k, tf.getBackend()) === undefined);
  return missing.length === 0 ? undefined : `n/a (tfjs-${tf.getBackend()} has no ${missing.join(", ")} kernel)`;
}

/** tfjs on the current backend: the same networks from the same params, and tf.matMul. */
export function tfWorkload(f: Fixture): { workload: Workload; parity: { mlp: number; conv: number } } {
  const lr = f.mlp.spec.train.lr;
  const mlp100 = tfMlp(100, f.mlpParams, lr);
  const mlp1 = tfMlp(1, f.mlpParams, lr);
  const conv = tfConv(f.convBatch, f.convParams, f.conv.spec.train.lr);
  // Before any step changes the params: the peers must compute what nnc computes.
  const parity = { mlp: maxAbsDiff(mlp100.predict(f.x100), f.mlpOut100), conv: maxAbsDiff(conv.predict(f.xConv), f.convOut) };
  const nets: TfNet[] = [mlp100, mlp1, conv];
  const tensors: tf.Tensor[] = [];
  const workload: Workload = {
    matmul(n) {
      const { a, b } = matrices(n);
      const ta = tf.tensor2d(a, [n, n]);
      const tb = tf.tensor2d(b, [n, n]);
      tensors.push(ta, tb);
      // Read back, as gemm's result is readable; dataSync also waits for the backend to finish.
      // No tf.tidy here: tidy walks an array it returns element by element, looking for tensors,
      // which costs more than the product itself.
      return () => {
        const c = tf.matMul(ta, tb);
        c.dataSync();
        c.dispose();
      };
    },
    mlpTrain: () => mlp100.trainStep(f.x100, f.y100),
    mlpInfer100: () => mlp100.predict(f.x100),
    mlpInfer1: () => mlp1.predict(f.x1),
    convTrain: missingKernels(["Conv2D", "Conv2DBackpropFilter"]) ?? (() => conv.trainStep(f.xConv, f.yConv)),
    convInfer: missingKernels(["Conv2D"]) ?? (() => conv.predict(f.xConv)),
    dispose() {
      nets.forEach((n) => n.dispose());
      tensors.forEach((t) => t.dispose());
    },
  };
  return { workload, parity };
}
