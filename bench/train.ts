// The train suite: whole epochs of the lesson 9 net (examples/mnist_tanh.nn:
// 784-100 tanh, dropout 0.5, 10 softmax, cross-entropy, batch 100, lr 0.02)
// on the first 1,000 MNIST training images, against TensorFlow.js's
// model.fit on a Layers model of the same shape, and PyTorch's own loop of
// SGD steps (bench/peers/torch_peer.py, one thread). No shuffling on any side
// (nnc's loop does not shuffle, so fit gets shuffle: false), no evaluation
// inside the timed epoch.
import { dataSpecs } from "../src/train/compile.ts";
import { trainLoop, type TrainableModel } from "../src/train/loop.ts";
import { loadDataset } from "../src/data/load.ts";
import { compileExample, threadedModel, type BenchModel } from "./nnc-models.ts";
import { tf, useBackend } from "./tfjs-env.ts";
import { tfMlpLayers } from "./tfjs-models.ts";
import { TorchPeer, torchAvailable } from "./torch-peer.ts";
import { duration, markdownTable } from "./table.ts";
import { median, timeInterleaved, type Contestant, type TimingOptions } from "./timing.ts";

const IMAGES = 1000;
const BATCH = 100;

export interface EpochRow {
  engine: string;
  /** Median seconds per epoch, null where the engine has none (see note). */
  seconds: number | null;
  /** Mean training loss of the last timed epoch: a check that every engine learns. */
  loss?: number;
  /** Epochs run in all, warm-up included: the losses compare only at equal counts. */
  epochs?: number;
  note?: string;
}

export async function trainSuite(o: TimingOptions): Promise<unknown> {
  const ex = await compileExample("mnist_tanh.nn");
  const lr = ex.spec.train.lr;
  const { train } = loadDataset("mnist", dataSpecs(ex.graph), {}, { limit: IMAGES, normalize: true });
  const x = train.columns.get("l0") as Float32Array;
  const y = train.columns.get("y") as Float32Array;
  const steps = IMAGES / BATCH;

  // `nnc train`'s own loop (src/train/loop.ts) times its epochs itself, before it evaluates, so it runs apart.
  // The emitted model has every method TrainableModel names; BenchModel declares only what the benchmarks call.
  const make = (batch: number) => ex.createModel({ dims: { batch }, seed: 1 }) as unknown as TrainableModel;
  const loopOptions = (epochs: number) => ({
    epochs, batch: BATCH, startEpoch: 0, evalEvery: epochs, trainOptions: { lr }, inputs: ["l0"], targets: ["y"], output: "l2",
  });
  await trainLoop(make, train, undefined, loopOptions(Math.max(1, o.warmup)), {}); // warm-up
  const history = await trainLoop(make, train, undefined, loopOptions(o.samples), {});
  const loopRow: EpochRow = {
    engine: "nnc, src/train/loop.ts",
    seconds: median(history.map((h) => h.seconds)),
    loss: history[history.length - 1]!.loss,
    epochs: history.length, // a fresh model: the warm-up trained another
  };

  // The others take turns epoch by epoch (timeInterleaved), so load from elsewhere hits them alike.
  // The lineup is in table order; rows already known (self-timed, or n/a) stand in it as they are.
  type Entrant = Contestant & { engine: string; loss: () => number; dispose(): void };
  const lineup: (Entrant | EpochRow)[] = [];
  // A plain loop of trainStep over views of the data: what a user of the module writes.
  const stepLoop = (engine: string, model: BenchModel | string) => {
    if (typeof model === "string") return void lineup.push({ engine, seconds: null, note: model });
    let loss = 0;
    const run = async () => {
      loss = 0;
      for (let s = 0; s < steps; s++) {
        const rowsOf = (a: Float32Array, width: number) => a.subarray(s * BATCH * width, (s + 1) * BATCH * width);
        loss += (await model.trainStep({ l0: rowsOf(x, 784), y: rowsOf(y, 10) }, { lr })) / steps;
      }
    };
    lineup.push({ engine, run, loss: () => loss, dispose: () => model.dispose?.() });
  };
  stepLoop("nnc, trainStep loop", ex.createModel({ dims: { batch: BATCH }, seed: 1 }));
  stepLoop("nnc, 2 threads, trainStep loop", threadedModel(ex, { batch: BATCH }, 2));
  lineup.push(loopRow);

  const initial = ex.createModel({ dims: { batch: BATCH }, seed: 1 }).params;
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, 1);
    const model = tfMlpLayers(initial, lr);
    const xs = tf.tensor2d(x, [IMAGES, 784]);
    const ys = tf.tensor2d(y, [IMAGES, 10]);
    let loss = NaN;
    const run = async () => {
      const h = await model.fit(xs, ys, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
      loss = h.history["loss"]![0] as number;
    };
    const engine = `tfjs-${backend}${backend === "wasm" ? ", 1 thread" : ""}, model.fit`;
    lineup.push({ engine, run, enter: () => tf.setBackend(backend), loss: () => loss, dispose: () => (model.dispose(), tf.dispose([xs, ys])) });
  }

  lineup.push(await torchEntrant(initial, x, y, lr));

  const entrants = lineup.filter((e): e is Entrant => !("seconds" in e));
  // An epoch is long enough to time alone: one epoch per sample.
  const timings = await timeInterleaved(entrants, { ...o, minSampleMs: 0 });
  const rows = lineup.map((e): EpochRow => {
    if ("seconds" in e) return e;
    const t = timings[entrants.indexOf(e)]!;
    e.dispose();
    return t instanceof Error ? { engine: e.engine, seconds: null, note: `n/a (${t.message})` } : { engine: e.engine, seconds: t.ms / 1000, loss: e.loss(), epochs: t.warmups + t.samples };
  });

  const nnc = rows[0]!.seconds;
  console.log(`\nepochs of examples/mnist_tanh.nn on ${IMAGES} MNIST images, batch ${BATCH}, lr ${lr}: median time per epoch`);
  console.log(markdownTable(
    ["engine", "per epoch", "images/s", "loss (last epoch)", "epochs run", "nnc (trainStep loop) speed-up"],
    rows.map((r) => [
      r.engine,
      r.seconds === null ? (r.note ?? "–") : duration(r.seconds * 1000),
      r.seconds === null ? "–" : Math.round(IMAGES / r.seconds).toLocaleString("en-US"),
      r.loss === undefined ? "–" : r.loss.toFixed(3),
      r.epochs === undefined ? "–" : String(r.epochs),
      r.seconds === null || nnc === null ? "–" : `${(r.seconds / nnc).toFixed(2)}×`,
    ]),
  ));
  return { images: IMAGES, batch: BATCH, lr, rows };
}

/**
 * PyTorch's epoch: its own loop of SGD steps over the same rows in the same
 * order, from the same initial weights, one thread, timed inside Python; or
 * the row saying it was skipped and how to install it.
 */
async function torchEntrant(initial: Record<string, Float32Array>, x: Float32Array, y: Float32Array, lr: number) {
  const engine = "PyTorch, 1 thread, loop of SGD steps";
  const available = torchAvailable();
  if (available !== true) {
    console.log(`PyTorch ${available}`);
    return { engine, seconds: null, note: "skipped" } satisfies EpochRow;
  }
  const hidden = initial["W0"]!.length / 784;
  const peer = await TorchPeer.start({
    arrays: {
      x: { data: x, shape: [IMAGES, 784] },
      y: { data: y, shape: [IMAGES, 10] },
      W0: { data: initial["W0"]!, shape: [784, hidden] },
      W1: { data: initial["W1"]!, shape: [hidden, 10] },
    },
    nets: [{ id: "mlp", kind: "mlp", batch: BATCH, lr, params: { W0: "W0", W1: "W1" } }],
    epochs: { epoch: ["mlp", "x", "y"] },
  });
  return { engine, timed: (calls: number) => peer.sample("epoch", calls), loss: () => peer.last ?? NaN, dispose: () => peer.close() };
}