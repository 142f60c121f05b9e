// The cpu suite's work for the peers outside JavaScript: PyTorch (a child
// process, bench/torch-peer.ts) and ONNX Runtime (bench/ort-peer.ts), from
// the fixture's arrays and initial params, as nnc and tfjs get them. Each
// answers with its workload and its parity against nnc's outputs at the
// initial params, or with the "skipped: install …" line when it is missing.
import { matrices, maxAbsDiff, type Fixture, type Runner, type Workload } from "./cpu-workloads.ts";
import { exportedForward, inferRunner, loadOrt, oneThreadSession, type OrtFlavour } from "./ort-peer.ts";
import { TorchPeer, torchAvailable, type TorchSetup } from "./torch-peer.ts";

export interface PeerWorkload {
  workload: Workload | string;
  /** Max |peer − nnc| of the output probabilities at the initial params. */
  parity?: { mlp: number; conv: number };
  /** What ran, for the printout and bench.json: "torch 1.13.0a0", "onnxruntime-node 1.30.0". */
  version?: string;
}

/** PyTorch on one thread: the MLP at batch 100 and 1, the conv net, torch.mm on the square products. */
export async function torchWorkload(f: Fixture, products: readonly number[]): Promise<PeerWorkload> {
  const available = torchAvailable();
  if (available !== true) return { workload: available };
  const [batchConv, features] = [f.convBatch, 784];
  const arrays: TorchSetup["arrays"] = {
    x100: { data: f.x100, shape: [100, features] },
    y100: { data: f.y100, shape: [100, 10] },
    x1: { data: f.x1, shape: [1, features] },
    xConv: { data: f.xConv, shape: [batchConv, features] },
    yConv: { data: f.yConv, shape: [batchConv, 10] },
  };
  const hidden = f.mlpParams["W0"]!.length / features;
  arrays["W0"] = { data: f.mlpParams["W0"]!, shape: [features, hidden] };
  arrays["W1"] = { data: f.mlpParams["W1"]!, shape: [hidden, 10] };
  arrays["K"] = { data: f.convParams["K"]!, shape: [3, 3, 1, 16] };
  arrays["W"] = { data: f.convParams["W"]!, shape: [f.convParams["W"]!.length / 10, 10] };
  for (const n of products) {
    const { a, b } = matrices(n);
    arrays[`a${n}`] = { data: a, shape: [n, n] };
    arrays[`b${n}`] = { data: b, shape: [n, n] };
  }
  const lr = f.mlp.spec.train.lr;
  const mlp = { W0: "W0", W1: "W1" };
  const peer = await TorchPeer.start({
    arrays,
    nets: [
      { id: "mlp100", kind: "mlp", batch: 100, lr, params: mlp },
      { id: "mlp1", kind: "mlp", batch: 1, lr, params: mlp },
      { id: "conv", kind: "conv", batch: batchConv, lr: f.conv.spec.train.lr, params: { K: "K", W: "W" } },
    ],
    trains: { mlpTrain: ["mlp100", "x100", "y100"], convTrain: ["conv", "xConv", "yConv"] },
    infers: { mlpInfer100: ["mlp100", "x100"], mlpInfer1: ["mlp1", "x1"], convInfer: ["conv", "xConv"] },
    products,
  });
  // Before any step changes the params.
  const parity = { mlp: maxAbsDiff(await peer.predict("mlp100", "x100"), f.mlpOut100), conv: maxAbsDiff(await peer.predict("conv", "xConv"), f.convOut) };
  const timed = (name: string): Runner => ({ timed: (calls) => peer.sample(name, calls) });
  const workload: Workload = {
    matmul: (n) => (products.includes(n) ? timed(`matmul${n}`) : "n/a (not set up)"),
    mlpTrain: timed("mlpTrain"),
    mlpInfer100: timed("mlpInfer100"),
    mlpInfer1: timed("mlpInfer1"),
    convTrain: timed("convTrain"),
    convInfer: timed("convInfer"),
    dispose: () => peer.close(),
  };
  return { workload, parity, version: `torch ${peer.version}` };
}

/** ONNX Runtime on one thread: inference only, on the exported forward graphs. */
export async function ortWorkload(f: Fixture, flavour: OrtFlavour): Promise<PeerWorkload> {
  const ort = await loadOrt(flavour);
  if (typeof ort === "string") return { workload: ort };
  const mlp = await oneThreadSession(ort, exportedForward(f.mlp, f.mlpParams), flavour);
  const conv = await oneThreadSession(ort, exportedForward(f.conv, f.convParams), flavour);
  const infer100 = inferRunner(ort, mlp, "l0", "l2", f.x100, [100, 784]);
  const infer1 = inferRunner(ort, mlp, "l0", "l2", f.x1, [1, 784]);
  const inferConv = inferRunner(ort, conv, "pixels", "p", f.xConv, [f.convBatch, 784]);
  const parity = { mlp: maxAbsDiff(await infer100(), f.mlpOut100), conv: maxAbsDiff(await inferConv(), f.convOut) };
  const noTraining = "n/a (inference only)";
  const workload: Workload = {
    matmul: () => "n/a (not measured)",
    mlpTrain: noTraining,
    mlpInfer100: infer100,
    mlpInfer1: infer1,
    convTrain: noTraining,
    convInfer: inferConv,
    dispose: () => void Promise.all([mlp.release(), conv.release()]),
  };
  return { workload, parity, version: `onnxruntime-${flavour} ${ort.env.versions?.common ?? ""}`.trim() };
}
