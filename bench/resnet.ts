// The resnet suite: one training step (and one inference) of
// examples/mnist_resnet.nn — conv → batchnorm → relu blocks with skip
// connections, average pooling, global average pooling, a dense layer and the
// cross-entropy of integer labels, Adam — on nnc's CPU backend and the same
// network written in TensorFlow.js core ops, from the same initial params.
//
// The peer does what nnc's step does: batch statistics in training, running
// statistics moved by momentum 0.1 towards the batch's mean and unbiased
// variance after each step, running statistics in inference. Engines take
// turns per sample (timeInterleaved), so load from elsewhere hits them alike.
// Ratios are peer time / nnc time: above 1, nnc is faster.
import { compileExample, threadedModel, type BenchModel, type CompiledExample } from "./nnc-models.ts";
import { liveTensors, tf, useBackend } from "./tfjs-env.ts";
import { duration, markdownTable, ratio } from "./table.ts";
import { breathe, filled, timeInterleaved, type TimingOptions } from "./timing.ts";

type Params = Record<string, Float32Array>;
type Runner = (() => unknown) | string;

const EPS = 1e-5; // batchnorm's default eps and momentum in nnc
const MOMENTUM = 0.1;

/** The example's network in TensorFlow.js; every call takes and returns plain arrays, as nnc's do. */
interface TfResnet {
  /** One Adam step; the loss before it, read back (nnc returns it too). */
  trainStep(x: Float32Array, labels: Int32Array): number;
  /** The logits in inference mode, read back. */
  predict(x: Float32Array): Float32Array;
  dispose(): void;
}

function tfResnet(batch: number, params: Params, lr: number): TfResnet {
  const vars = new Map<string, tf.Variable>();
  // Trained params and running statistics alike are variables; only the trained ones go to the optimizer.
  for (const [name, v] of Object.entries(params)) {
    const shape = name.endsWith(".K") || /\.K\d$/.test(name) ? [3, 3, v.length / 9 / channelsOut(name, params), channelsOut(name, params)] : name === "W" ? [v.length / 10, 10] : [v.length];
    vars.set(name, tf.tidy(() => tf.variable(tf.tensor(v, shape), !name.includes("running_"))));
  }
  const p = (name: string) => {
    const v = vars.get(name);
    if (!v) throw new Error(`tfjs peer: mnist_resnet.nn has no param ${name}; the peer must follow the example`);
    return v;
  };
  const trained = [...vars].filter(([n]) => !n.includes("running_")).map(([, v]) => v);
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8); // nnc's adam defaults
  /** Running-statistics updates of the current step: [running mean, running var, batch mean, batch biased var, rows]. */
  let updates: [tf.Variable, tf.Variable, tf.Tensor, tf.Tensor, number][] = [];

  const batchnorm = (x: tf.Tensor4D, owner: string, g: string, b: string, training: boolean) => {
    const rm = p(`${owner}.running_mean`);
    const rv = p(`${owner}.running_var`);
    if (!training) return tf.batchNorm4d(x, rm as tf.Tensor1D, rv as tf.Tensor1D, p(b) as tf.Tensor1D, p(g) as tf.Tensor1D, EPS);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    // Kept: minimize disposes what its loss function made, and the update comes after it.
    updates.push([rm, rv, tf.keep(mean), tf.keep(variance), x.shape[0] * x.shape[1] * x.shape[2]]);
    return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, p(b) as tf.Tensor1D, p(g) as tf.Tensor1D, EPS);
  };
  const conv = (x: tf.Tensor4D, k: string) => tf.conv2d(x, p(k) as tf.Variable<tf.Rank.R4>, 1, "same");
  const convBn = (x: tf.Tensor4D, use: string, training: boolean): tf.Tensor4D => tf.relu(batchnorm(conv(x, `${use}.K`), use, `${use}.g`, `${use}.b`, training));
  const resBlock = (h: tf.Tensor4D, use: string, training: boolean): tf.Tensor4D => {
    const y = tf.relu(batchnorm(conv(h, `${use}.K1`), `${use}.y`, `${use}.g1`, `${use}.b1`, training));
    const z = batchnorm(conv(y, `${use}.K2`), `${use}.z`, `${use}.g2`, `${use}.b2`, training);
    return tf.relu(tf.add(h, z)) as tf.Tensor4D;
  };
  const pool = (x: tf.Tensor4D) => tf.avgPool(x, 2, 2, "valid");
  const logits = (pixels: tf.Tensor2D, training: boolean): tf.Tensor2D => {
    const image = tf.reshape(pixels, [batch, 28, 28, 1]) as tf.Tensor4D;
    const stem = convBn(image, "stem", training);
    const stage1 = resBlock(resBlock(pool(stem), "stage1.0", training), "stage1.1", training);
    const widen = convBn(stage1, "widen", training);
    const stage2 = resBlock(pool(widen), "stage2", training);
    const pooled = tf.mean(stage2, [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, p("W")), p("bias"));
  };

  return {
    trainStep(xs, ys) {
      return tf.tidy(() => {
        // Made from the arrays on every call: nnc copies its inputs into its arena on every call too.
        const x = tf.tensor2d(xs, [batch, 784]);
        const y = tf.oneHot(tf.tensor1d(ys, "int32"), 10);
        updates = [];
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x, true)) as tf.Scalar, true, trained)!;
        for (const [rm, rv, mean, variance, n] of updates) {
          rm.assign(tf.add(rm, tf.mul(MOMENTUM, tf.sub(mean, rm))));
          rv.assign(tf.add(rv, tf.mul(MOMENTUM, tf.sub(tf.mul(variance, n / (n - 1)), rv))));
          mean.dispose();
          variance.dispose();
        }
        return loss.dataSync()[0]!;
      });
    },
    predict(xs) {
      const out = tf.tidy(() => logits(tf.tensor2d(xs, [batch, 784]), false));
      const data = out.dataSync() as Float32Array;
      out.dispose();
      return data;
    },
    dispose() {
      optimizer.dispose();
      for (const v of vars.values()) v.dispose();
    },
  };
}

/** A kernel's output channels: the size of its batchnorm's gamma (`stem.K` → `stem.g`, `s.K2` → `s.g2`). */
function channelsOut(kernel: string, params: Params): number {
  const gamma = kernel.replace(/K(\d?)$/, "g$1");
  const g = params[gamma];
  if (!g) throw new Error(`tfjs peer: no ${gamma} beside ${kernel}`);
  return g.length;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((d, v, i) => Math.max(d, Math.abs(v - b[i]!)), 0);

interface Engine {
  id: string;
  label: string;
  train: Runner;
  infer: Runner;
  enter?: () => Promise<unknown>;
  dispose(): void;
}

function nncEngine(ex: CompiledExample, batch: number, threads: number, x: Float32Array, labels: Int32Array): Engine {
  const m: BenchModel | string = threads === 1 ? ex.createModel({ dims: { batch }, seed: 1 }) : threadedModel(ex, { batch }, threads);
  const label = threads === 1 ? "nnc" : `nnc, ${threads} threads`;
  if (typeof m === "string") return { id: `nnc${threads}`, label, train: m, infer: m, dispose() {} };
  return {
    id: `nnc${threads}`,
    label,
    train: () => m.trainStep({ pixels: x, label: labels }),
    infer: () => m.forward({ pixels: x }),
    dispose: () => m.dispose?.(),
  };
}

/** "n/a (…)" naming the kernels the current tfjs backend lacks, or undefined. */
function missingKernels(names: readonly string[]): string | undefined {
  const missing = names.filter((k) => tf.getKernel(k, tf.getBackend()) === undefined);
  return missing.length === 0 ? undefined : `n/a (tfjs-${tf.getBackend()} has no ${missing.join(", ")} kernel)`;
}

export async function resnetSuite(o: TimingOptions): Promise<unknown> {
  const ex = await compileExample("mnist_resnet.nn");
  const batch = ex.spec.train.batch ?? 64;
  const lr = ex.spec.train.lr;
  const x = filled(batch * 784, 3);
  const labels = Int32Array.from({ length: batch }, (_, r) => r % 10);

  // The reference: nnc's logits (inference) and first loss (training mode) at the initial params.
  const ref = ex.createModel({ dims: { batch }, seed: 1 });
  const params: Params = Object.fromEntries(Object.entries(ref.params).map(([k, v]) => [k, v.slice()]));
  const refLogits = ((await ref.forward({ pixels: x }))["logits"] as Float32Array).slice();
  const refLoss = await ref.trainStep({ pixels: x, label: labels });

  const engines: Engine[] = [nncEngine(ex, batch, 1, x, labels), nncEngine(ex, batch, 2, x, labels)];
  const parity: Record<string, { logits: number; loss: number } | string> = {};
  let tensorsBefore: number | undefined;
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, 1);
    tensorsBefore ??= liveTensors(); // tfjs counts nothing before a backend starts
    const id = backend === "cpu" ? "tfjsCpu" : "tfjsWasm";
    const label = backend === "cpu" ? "tfjs-cpu" : "tfjs-wasm, 1 thread";
    const inferMissing = missingKernels(["Conv2D", "FusedBatchNorm", "AvgPool"]);
    const trainMissing = inferMissing ?? missingKernels(["Conv2DBackpropFilter", "Conv2DBackpropInput", "AvgPoolGrad"]);
    const net = tfResnet(batch, params, lr);
    const enter = () => tf.setBackend(backend);
    parity[id] = inferMissing ?? { logits: maxAbsDiff(net.predict(x), refLogits), loss: trainMissing ? NaN : Math.abs(net.trainStep(x, labels) - refLoss) };
    engines.push({ id, label, enter, train: trainMissing ?? (() => net.trainStep(x, labels)), infer: inferMissing ?? (() => net.predict(x)), dispose: () => net.dispose() });
  }

  const rows: { label: string; ms: Record<string, number | null>; notes: Record<string, string> }[] = [];
  for (const [kind, label] of [["train", `mnist_resnet train step, batch ${batch}`], ["infer", `mnist_resnet inference, batch ${batch}`]] as const) {
    const row = { label, ms: {} as Record<string, number | null>, notes: {} as Record<string, string> };
    const contestants: { id: string; run: () => unknown; enter?: () => Promise<unknown> }[] = [];
    for (const e of engines) {
      row.ms[e.id] = null;
      const run = e[kind];
      if (typeof run === "string") row.notes[e.id] = run;
      else contestants.push({ id: e.id, run, ...(e.enter ? { enter: e.enter } : {}) });
    }
    const timings = await timeInterleaved(contestants, o);
    timings.forEach((t, k) => {
      const id = contestants[k]!.id;
      if (t instanceof Error) row.notes[id] = `n/a (${t.message})`;
      else row.ms[id] = t.ms;
    });
    process.stderr.write(`  ${label}: ${contestants.map((c) => `${c.id} ${row.ms[c.id] === null ? "failed" : duration(row.ms[c.id]!)}`).join(", ")}\n`);
    rows.push(row);
    await breathe();
  }
  for (const e of engines) e.dispose();
  const left = liveTensors() - tensorsBefore!;
  if (left !== 0) process.stderr.write(`  warning: the tfjs peer left ${left} tensor(s) behind\n`);

  const header = ["benchmark", ...engines.map((e) => e.label), "nnc vs tfjs-cpu", "nnc vs tfjs-wasm"];
  const body = rows.map((r) => [
    r.label,
    ...engines.map((e) => (r.ms[e.id] === null ? (r.notes[e.id] ?? "–") : duration(r.ms[e.id]!))),
    ratio(r.ms["nnc1"] ?? null, r.ms["tfjsCpu"] ?? null),
    ratio(r.ms["nnc1"] ?? null, r.ms["tfjsWasm"] ?? null),
  ]);
  console.log(`\nexamples/mnist_resnet.nn on nnc's CPU backend vs TensorFlow.js ${tf.version.tfjs}: median per call; ratios are tfjs time / nnc time (above 1: nnc is faster)`);
  console.log(markdownTable(header, body));
  const fmt = (p: (typeof parity)[string]) => (typeof p === "string" ? p : `logits ${p.logits.toExponential(1)}, first loss ${Number.isNaN(p.loss) ? "n/a" : p.loss.toExponential(1)}`);
  console.log(`parity at the initial params, max |nnc − tfjs|: ${Object.entries(parity).map(([id, p]) => `${id} ${fmt(p)}`).join("; ")}`);
  return { rows, parity };
}
