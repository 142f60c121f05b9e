// TensorFlow.js as the benchmarks' peer: its pure-JavaScript cpu backend and
// its WebAssembly backend (XNNPACK, with SIMD where the engine has it).
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

// PROD mode only turns off tfjs's console.warn/console.log hints (the
// "looks like you are running TensorFlow.js in Node.js" banner among them);
// errors still throw. It is also the mode a deployed model runs in.
tf.enableProdMode();

export { tf };

export type TfBackend = "cpu" | "wasm";

export interface BackendInfo {
  backend: TfBackend;
  /** Threads the wasm backend really uses (1 for cpu). */
  threads: number;
  simd: boolean;
}

let wasmReady = false;

/**
 * Makes `backend` the current one. The wasm backend is created once per
 * process and its thread count is fixed at creation, so the first call for
 * wasm decides it; asking for another count later throws.
 */
export async function useBackend(backend: TfBackend, threads = 1): Promise<BackendInfo> {
  if (backend === "wasm") {
    if (!wasmReady) setThreadsCount(threads);
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend failed to start");
    wasmReady = true;
    const actual = getThreadsCount();
    if (actual !== threads) throw new Error(`tfjs-wasm runs ${actual} thread(s), not ${threads}; its thread count is fixed when it starts`);
    return { backend, threads: actual, simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) };
  }
  if (!(await tf.setBackend("cpu"))) throw new Error("tfjs: the cpu backend failed to start");
  return { backend, threads: 1, simd: false };
}

/**
 * Whether tfjs-wasm can run more than one thread here. In Node it cannot:
 * tfjs 4.x answers WASM_HAS_MULTITHREAD_SUPPORT with false whenever IS_NODE
 * (tensorflow/tfjs#3830), and forcing the flag fails to start the threaded
 * binary, whose pthreads are made from Blob URLs that Node's workers refuse.
 */
export async function wasmThreadsSupported(): Promise<boolean> {
  return Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"));
}

/** The tensors tfjs holds right now: a check that a benchmark disposes what it makes. */
export const liveTensors = () => tf.memory().numTensors;
