// More than one thread for the large matrix products. The module's arena
// lives in shared memory (a shared WebAssembly memory, whose buffer is a
// SharedArrayBuffer); each helper thread (a node:worker_threads Worker
// started from source text, with its own instance of the WebAssembly
// kernels on that memory) runs the same gemm on its own rows or
// columns of the product, in place, while the calling thread does the first
// part. Calls stay synchronous: the caller hands out a job by writing its
// arguments into a shared Int32Array and bumping a counter, does its share,
// then waits for the helpers' counters with Atomics.wait. Nothing is
// allocated or posted per product.
//
// Every part is a product of the same kind as the whole (packed, or direct
// along the same side) with the same block depth, so each element is summed
// in the same order as on one thread: the results are identical bit for bit.
import { GEMM_MR, GEMM_NR, gemm, gemmWorkspace, type GemmWorkspace } from "./gemm.ts";
import { GEMM_WASM_PACK_FLOATS } from "./gemm-wasm.ts";
import { createWasmGemm, type KernelMemory, type WasmMemoryObject } from "./wasm.ts";

/**
 * Products of fewer multiply-adds (m·n·k) stay on the calling thread: waking
 * a sleeping helper and waiting for it costs tens of microseconds, about what
 * 2^18 multiply-adds take on the JavaScript kernels (~90 µs at 6 GFLOP/s). On
 * WebAssembly they take ~15 µs, but a helper that is still polling (within
 * about a millisecond of its last part, as in a training step) answers in a
 * microsecond or two, so the same bound still pays.
 */
export const GEMM_SPLIT_MIN_WORK = 1 << 18;
/** Each thread's part spans at least this many rows (or columns), so that no part changes kernel. */
export const GEMM_SPLIT_MIN_SIDE = 16;
/**
 * Rounds of polling (about 6 ns each) before a waiting thread sleeps in
 * Atomics.wait. Polling answers at once; waking from Atomics.wait takes tens
 * of microseconds or more on a busy machine. About a millisecond of polling
 * covers the steps between two large products of a training step (and
 * between two steps), so a helper sleeps only when the model is idle.
 */
export const GEMM_TEAM_SPIN = 200000;
/** How long createModel waits for its helper threads to start before going on without them. */
export const GEMM_HELPER_START_MS = 10000;

/**
 * The control block is an Int32Array over shared memory: slots 0–15 hold the
 * job, the arguments of gemm (one 64-byte cache line; alpha as float32 bits,
 * read through a Float32Array over the same memory);
 * helper h (1, 2, …) has the 16 slots from 16·h, so that two threads'
 * counters never share a cache line.
 */
export const TEAM_SLOTS = 16;
const GEMM_JOB = { op: 0, transA: 1, transB: 2, m: 3, n: 4, k: 5, a: 6, lda: 7, b: 8, ldb: 9, c: 10, ldc: 11, accumulate: 12, parts: 13, alpha: 14 };
/** A helper's slots: jobs posted to it, jobs it has finished, and 1 once it runs. */
export const HELPER_SLOT = { posted: 0, done: 1, ready: 2 };
/** Values of the job's op. */
const JOB_GEMM = 1;
const JOB_STOP = 2;

/** What a helper thread is given when it starts (structured-cloned once; the buffers are shared, not copied). */
export interface GemmHelperData {
  readonly control: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
  readonly arenaOffset: number;
  readonly arenaLength: number;
  /** The helper's number, 1 … threads − 1; the calling thread is part 0. */
  readonly index: number;
  /** The calling thread's workspace block sizes: the same depth kc keeps the sums in the same order. */
  readonly mc: number;
  readonly kc: number;
  readonly nc: number;
  /**
   * With WebAssembly kernels, the compiled module and the shared memory the
   * arena lives in (the helper instantiates its own kernels on it), and the
   * byte address of the helper's packing space; otherwise null.
   */
  readonly module: object | null;
  readonly memory: WasmMemoryObject | null;
  readonly pack: number;
}

/** The part of node:worker_threads used here (typed by hand: an emitted module needs no @types/node). */
interface HelperWorker {
  terminate(): unknown;
  unref(): void;
}
interface NodeProcess {
  getBuiltinModule?(id: string): unknown;
}
interface WorkerThreads {
  Worker: { new (source: string, options: { eval: boolean; workerData: GemmHelperData }): HelperWorker };
}

/** The threads of one model. */
export interface GemmTeam {
  /** Threads in use, the caller's included. */
  threads: number;
  /** Why threads is less than was asked for, or null. */
  note: string | null;
  readonly control: Int32Array;
  /** The control block as floats, for the job's alpha. */
  readonly controlFloats: Float32Array;
  /** The shared arena the helpers see; a product elsewhere runs on the calling thread. */
  arena: Float32Array | null;
  readonly workers: HelperWorker[];
}

/** The threads createModel was asked for: a positive integer, 1 when not given. */
export function threadsOption(value: number | undefined): number {
  const threads = value ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createModel: threads must be a positive integer, got ${String(threads)}`);
  return threads;
}

/** node:worker_threads, if this platform can start helper threads synchronously; otherwise why not. */
function gemmWorkerThreads(): WorkerThreads | string {
  if (typeof SharedArrayBuffer !== "function") return "SharedArrayBuffer is not available (a web page needs cross-origin isolation for it)";
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (typeof proc?.getBuiltinModule !== "function") return "helper threads need node:worker_threads, reached through process.getBuiltinModule (Node.js 20.16 or newer)";
  return proc.getBuiltinModule("node:worker_threads") as WorkerThreads;
}

/**
 * The team for `threads` threads: its control block, and the number of
 * threads the platform allows (1, with a note, where it has no shared memory
 * or worker threads). Helpers start later, with startGemmHelpers, once the
 * arena exists.
 */
export function createGemmTeam(threads: number): GemmTeam {
  const platform = threads > 1 ? gemmWorkerThreads() : "";
  const control = typeof platform === "string" ? new Int32Array(TEAM_SLOTS) : new Int32Array(new SharedArrayBuffer(4 * TEAM_SLOTS * threads));
  const controlFloats = new Float32Array(control.buffer);
  if (typeof platform === "string") return { threads: 1, note: threads > 1 ? platform : null, control, controlFloats, arena: null, workers: [] };
  return { threads, note: null, control, controlFloats, arena: null, workers: [] };
}

/**
 * Starts the helpers on the arena of `memory` (shared memory), each with its
 * own packing workspace of ws's block sizes (and, with WebAssembly, its own
 * instance of the kernels), and waits until they run. `script` makes the
 * helpers' code (see createGemmHelperScript), called only where helpers can
 * start. A helper that does not start in time leaves the team at one
 * thread, with a note.
 */
export function startGemmHelpers(team: GemmTeam, memory: KernelMemory, ws: GemmWorkspace, script: () => string): void {
  const platform = gemmWorkerThreads();
  const arena = memory.arena;
  if (team.threads < 2 || typeof platform === "string" || !(arena.buffer instanceof SharedArrayBuffer)) return;
  const ctl = team.control;
  const source = script();
  for (let h = 1; h < team.threads; h++) {
    const data: GemmHelperData = {
      control: ctl.buffer as SharedArrayBuffer,
      arena: arena.buffer,
      arenaOffset: arena.byteOffset,
      arenaLength: arena.length,
      index: h,
      mc: ws.mc,
      kc: ws.kc,
      nc: ws.nc,
      module: memory.module,
      memory: memory.memory,
      pack: memory.packBase + h * 4 * GEMM_WASM_PACK_FLOATS,
    };
    const worker = new platform.Worker(source, { eval: true, workerData: data });
    // An idle helper must not keep the process alive: dispose() is a courtesy, not a duty.
    worker.unref();
    team.workers.push(worker);
  }
  const deadline = Date.now() + GEMM_HELPER_START_MS;
  for (let h = 1; h < team.threads; h++) {
    while (Atomics.load(ctl, TEAM_SLOTS * h + HELPER_SLOT.ready) === 0 && Date.now() < deadline) Atomics.wait(ctl, TEAM_SLOTS * h + HELPER_SLOT.ready, 0, 50);
    if (Atomics.load(ctl, TEAM_SLOTS * h + HELPER_SLOT.ready) === 0) {
      disposeGemmTeam(team);
      team.note = `a helper thread did not start within ${GEMM_HELPER_START_MS / 1000} s`;
      return;
    }
  }
  team.arena = arena;
}

/** A helper's code as parts of the module that starts it: its functions, and the constants they read. */
export interface GemmHelperCode {
  readonly functions: readonly ((...args: never[]) => unknown)[];
  readonly constants: Readonly<Record<string, unknown>>;
}

/**
 * The script a helper thread runs, made from the calling module's own code:
 * the constants as JSON, the functions as the platform gives their source
 * (Function.prototype.toString: JavaScript, whatever compiled the module),
 * then a call of startGemmHelper with the worker's start data. `__name` is
 * defined for code compiled with esbuild's keepNames (as tsx does), which
 * wraps inner functions in calls of it.
 */
export function createGemmHelperScript(code: GemmHelperCode): string {
  const constants = Object.entries(code.constants).map(([name, value]) => `const ${name} = ${JSON.stringify(value)};`);
  const functions = code.functions.map((f) => f.toString());
  return ['"use strict";', "var __name = (target) => target;", ...constants, ...functions, 'startGemmHelper(require("node:worker_threads").workerData);', ""].join("\n");
}

/** Stops the helpers; later products run on the calling thread. */
export function disposeGemmTeam(team: GemmTeam): void {
  const ctl = team.control;
  if (team.workers.length > 0) {
    ctl[GEMM_JOB.op] = JOB_STOP;
    for (let h = 1; h <= team.workers.length; h++) {
      Atomics.add(ctl, TEAM_SLOTS * h + HELPER_SLOT.posted, 1);
      Atomics.notify(ctl, TEAM_SLOTS * h + HELPER_SLOT.posted);
    }
    for (const worker of team.workers) void worker.terminate();
    team.workers.length = 0;
  }
  if (team.threads > 1) team.note = "dispose() stopped the helper threads";
  team.threads = 1;
  team.arena = null;
}

/**
 * Part `part` of the job in the control block: the product restricted to a
 * contiguous range of C's rows (when it has at least as many rows as columns)
 * or columns. Range boundaries fall on micro-kernel edges.
 */
export function gemmPart(ws: GemmWorkspace, ctl: Int32Array, ctlFloats: Float32Array, arena: Float32Array, part: number): void {
  const transA = ctl[GEMM_JOB.transA] === 1;
  const transB = ctl[GEMM_JOB.transB] === 1;
  const m = ctl[GEMM_JOB.m];
  const n = ctl[GEMM_JOB.n];
  const k = ctl[GEMM_JOB.k];
  const aOff = ctl[GEMM_JOB.a];
  const lda = ctl[GEMM_JOB.lda];
  const bOff = ctl[GEMM_JOB.b];
  const ldb = ctl[GEMM_JOB.ldb];
  const cOff = ctl[GEMM_JOB.c];
  const ldc = ctl[GEMM_JOB.ldc];
  const accumulate = ctl[GEMM_JOB.accumulate] === 1;
  const parts = ctl[GEMM_JOB.parts];
  const alpha = ctlFloats[GEMM_JOB.alpha];
  if (m >= n) {
    const from = gemmPartStart(m, parts, part, GEMM_MR);
    const to = gemmPartStart(m, parts, part + 1, GEMM_MR);
    const aFrom = aOff + (transA ? from : from * lda);
    gemm(ws, transA, transB, to - from, n, k, arena, aFrom, lda, arena, bOff, ldb, arena, cOff + from * ldc, ldc, accumulate, alpha);
  } else {
    const from = gemmPartStart(n, parts, part, GEMM_NR);
    const to = gemmPartStart(n, parts, part + 1, GEMM_NR);
    const bFrom = bOff + (transB ? from * ldb : from);
    gemm(ws, transA, transB, m, to - from, k, arena, aOff, lda, arena, bFrom, ldb, arena, cOff + from, ldc, accumulate, alpha);
  }
}

/** Where part `part` of `parts` of a side of `length` starts: equal shares, rounded to a multiple of `unit`. */
function gemmPartStart(length: number, parts: number, part: number, unit: number): number {
  if (part >= parts) return length;
  return Math.min(length, Math.round((length * part) / parts / unit) * unit);
}

/**
 * gemm (same arguments after the team), shared among the team's threads when
 * the product is large and every operand is in the shared arena; otherwise
 * on the calling thread alone. Returns when all of C is written. A split
 * product's alpha goes to the helpers as float32 (the WebAssembly kernels'
 * alpha is one anyway); the calling thread's part reads the same slot.
 */
export function gemmSplit(
  team: GemmTeam,
  ws: GemmWorkspace,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  accumulate: boolean,
  alpha = 1,
): void {
  const parts = team.threads;
  const arena = team.arena;
  const shared = arena !== null && a === arena && b === arena && c === arena;
  // Split along the longer side: a product with one or two rows (or columns) keeps its direct kernel.
  const side = m >= n ? m : n;
  if (!shared || parts < 2 || m * n * k < GEMM_SPLIT_MIN_WORK || side < parts * GEMM_SPLIT_MIN_SIDE) {
    gemm(ws, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate, alpha);
    return;
  }
  const ctl = team.control;
  ctl[GEMM_JOB.op] = JOB_GEMM;
  ctl[GEMM_JOB.transA] = transA ? 1 : 0;
  ctl[GEMM_JOB.transB] = transB ? 1 : 0;
  ctl[GEMM_JOB.m] = m;
  ctl[GEMM_JOB.n] = n;
  ctl[GEMM_JOB.k] = k;
  ctl[GEMM_JOB.a] = aOff;
  ctl[GEMM_JOB.lda] = lda;
  ctl[GEMM_JOB.b] = bOff;
  ctl[GEMM_JOB.ldb] = ldb;
  ctl[GEMM_JOB.c] = cOff;
  ctl[GEMM_JOB.ldc] = ldc;
  ctl[GEMM_JOB.accumulate] = accumulate ? 1 : 0;
  ctl[GEMM_JOB.parts] = parts;
  team.controlFloats[GEMM_JOB.alpha] = alpha;
  // The atomic increment publishes the job (and the arena's contents) to the helper that sees it.
  for (let h = 1; h < parts; h++) {
    Atomics.add(ctl, TEAM_SLOTS * h + HELPER_SLOT.posted, 1);
    Atomics.notify(ctl, TEAM_SLOTS * h + HELPER_SLOT.posted);
  }
  gemmPart(ws, ctl, team.controlFloats, arena, 0);
  for (let h = 1; h < parts; h++) gemmTeamAwait(ctl, TEAM_SLOTS * h + HELPER_SLOT.done, ctl[TEAM_SLOTS * h + HELPER_SLOT.posted]);
}

/** Waits until ctl[at] holds `value`: polls a while, then sleeps until notified. */
function gemmTeamAwait(ctl: Int32Array, at: number, value: number): void {
  let spins = 0;
  for (let seen = Atomics.load(ctl, at); seen !== value; seen = Atomics.load(ctl, at)) {
    if (++spins > GEMM_TEAM_SPIN) Atomics.wait(ctl, at, seen);
  }
}

/** A helper thread's entry point: its views of the shared memory and its own workspace, then the job loop. */
export function startGemmHelper(data: GemmHelperData): void {
  const ctl = new Int32Array(data.control);
  const ctlFloats = new Float32Array(data.control);
  if (data.module !== null && data.memory !== null) {
    // The arena is viewed through the buffer the kernels were given, so gemm sees the operands in their memory.
    const wasm = createWasmGemm(data.module, data.memory, data.pack);
    const arena = new Float32Array(wasm.buffer, data.arenaOffset, data.arenaLength);
    gemmHelperLoop(ctl, ctlFloats, arena, gemmWorkspace(data.mc, data.nc, data.kc, wasm), data.index);
    return;
  }
  const arena = new Float32Array(data.arena, data.arenaOffset, data.arenaLength);
  gemmHelperLoop(ctl, ctlFloats, arena, gemmWorkspace(data.mc, data.nc, data.kc), data.index);
}

/** Runs every job posted to helper `index` until told to stop; signals each one done. */
export function gemmHelperLoop(ctl: Int32Array, ctlFloats: Float32Array, arena: Float32Array, ws: GemmWorkspace, index: number): void {
  const slot = TEAM_SLOTS * index;
  let taken = Atomics.load(ctl, slot + HELPER_SLOT.posted);
  Atomics.store(ctl, slot + HELPER_SLOT.ready, 1);
  Atomics.notify(ctl, slot + HELPER_SLOT.ready);
  for (;;) {
    // The next product of a training step usually follows within microseconds: poll before sleeping.
    let spins = 0;
    for (let posted = Atomics.load(ctl, slot + HELPER_SLOT.posted); posted === taken; posted = Atomics.load(ctl, slot + HELPER_SLOT.posted)) {
      if (++spins > GEMM_TEAM_SPIN) Atomics.wait(ctl, slot + HELPER_SLOT.posted, posted);
    }
    taken = Atomics.load(ctl, slot + HELPER_SLOT.posted);
    if (ctl[GEMM_JOB.op] === JOB_STOP) return;
    gemmPart(ws, ctl, ctlFloats, arena, index);
    Atomics.store(ctl, slot + HELPER_SLOT.done, taken);
    Atomics.notify(ctl, slot + HELPER_SLOT.done);
  }
}
