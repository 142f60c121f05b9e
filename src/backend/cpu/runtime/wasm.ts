// The memory of a model, and the WebAssembly SIMD matrix products that work
// in it. A model's arena, the convolution's column buffer and each thread's
// packing space are laid out in one WebAssembly memory, so that the kernels
// of gemm.wat (f32x4, about five times the JavaScript kernel's speed) read
// operands and write results in place, addressed by byte offsets. With helper
// threads the memory is shared (its buffer is a SharedArrayBuffer) and each
// helper instantiates the same module on it.
//
// The memory is sized once and never grown: growing would detach the
// ArrayBuffer under every view of the model (and once any buffer in a
// process has been detached, V8 checks every typed-array access for it).
// Where WebAssembly or its SIMD is missing, or the memory would pass 4 GiB,
// the arena is a plain Float32Array (a SharedArrayBuffer with threads) and
// gemm runs its JavaScript kernels; `note` says why. Where the engine has
// relaxed SIMD, the products use fused multiply-adds (a gemm.wat variant
// that scripts/build-wasm.ts derives); elsewhere `note` says the plain SIMD
// kernels run.
import { GEMM_WASM_BASE64, GEMM_WASM_PACK_FLOATS, GEMM_WASM_RELAXED_BASE64, GEMM_WASM_RELAXED_SHARED_BASE64, GEMM_WASM_SHARED_BASE64 } from "./gemm-wasm.ts";

/** The parts of the WebAssembly API used here, typed by hand: an emitted module needs no DOM or Node.js types. */
export interface WasmMemoryObject {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => WasmMemoryObject;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

/** gemm.wat's `gemm`: C = (accumulate ? C : 0) + alpha·op(A)·op(B); addresses in bytes, leading dimensions in floats. */
type WasmGemmKernel = (transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number, pack: number, alpha: number) => void;
/** gemm.wat's `gemv`: C(i, j) = (accumulate ? C(i, j) : 0) + alpha·Σ_p A(i, p)·B(p, j) for B with contiguous columns; strides in floats. */
type WasmGemvKernel = (mm: number, nn: number, k: number, a: number, sai: number, sap: number, b: number, sbp: number, c: number, sci: number, scj: number, accumulate: number, alpha: number) => void;

/** One thread's instance of the kernels: the buffer they address, and where its packing space starts. */
export interface WasmGemm {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly gemm: WasmGemmKernel;
  readonly gemv: WasmGemvKernel;
  /** Byte address of this thread's GEMM_WASM_PACK_FLOATS floats of packing space. */
  readonly pack: number;
}

/** A model's memory: what createModel lays out, and what helper threads need to instantiate the kernels on it. */
export interface KernelMemory {
  /** The arena, from float 0 of the memory. */
  readonly arena: Float32Array;
  /** The convolution's column buffer (empty when the model has none). */
  readonly col: Float32Array;
  /** The calling thread's kernels, or null: gemm runs its JavaScript kernels. */
  readonly wasm: WasmGemm | null;
  /** The compiled module and the shared memory, for helper threads (null without WebAssembly or without threads). */
  readonly module: object | null;
  readonly memory: WasmMemoryObject | null;
  /** Byte address of the packing space of thread t: packBase + t · 4 · GEMM_WASM_PACK_FLOATS. */
  readonly packBase: number;
  /**
   * Which kernels run when not the best: why the JavaScript kernels run
   * instead of WebAssembly (then wasm is null), or that the plain SIMD ones
   * run where the engine has no relaxed SIMD; null with the fused
   * multiply-add kernels.
   */
  readonly note: string | null;
  /** The WebAssembly memory itself (null without WebAssembly), for the elementwise kernels (runtime/vector.ts). */
  readonly wasmMemory: WasmMemoryObject | null;
  /** Byte address of the elementwise kernels' scratch (vectorFloats floats after the packing spaces); -1 when none. */
  readonly vectorBase: number;
}

/** Bytes in a WebAssembly page, and the most pages a 32-bit memory has. */
const WASM_PAGE = 65536;
const WASM_MAX_PAGES = 65536;

function wasmApi(): WasmApi | null {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;
}

/** The bytes of a base64 text (atob is in browsers and in Node.js 16 and newer); run at createModel only. */
export function createBytesFromBase64(text: string): Uint8Array {
  const binary = (globalThis as unknown as { atob(s: string): string }).atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The kernels' module, compiled from its base64 text: the one with fused
 * multiply-adds (relaxed SIMD) where the engine compiles it, else the plain
 * SIMD one, with a note saying so. Chosen by what the engine has, never by
 * timing, so that a model computes the same bits every run on one engine.
 */
function createWasmModule(wasm: WasmApi, shared: boolean): { module: object; note: string | null } {
  try {
    return { module: new wasm.Module(createBytesFromBase64(shared ? GEMM_WASM_RELAXED_SHARED_BASE64 : GEMM_WASM_RELAXED_BASE64)), note: null };
  } catch {
    const module = new wasm.Module(createBytesFromBase64(shared ? GEMM_WASM_SHARED_BASE64 : GEMM_WASM_BASE64));
    return { module, note: "the plain WebAssembly SIMD kernels run: this engine has no relaxed SIMD for fused multiply-adds (Node.js 20 needs --experimental-wasm-relaxed-simd)" };
  }
}

/** An instance of the kernels of `module` on `memory`, with `pack` as its thread's packing space (each thread has its own). */
export function createWasmGemm(module: object, memory: WasmMemoryObject, pack: number): WasmGemm {
  const wasm = wasmApi();
  if (wasm === null) throw new Error("WebAssembly is not available");
  const instance = new wasm.Instance(module, { env: { memory } });
  return { buffer: memory.buffer, gemm: instance.exports["gemm"] as WasmGemmKernel, gemv: instance.exports["gemv"] as WasmGemvKernel, pack };
}

/**
 * The memory of a model with an arena of arenaFloats floats and a column
 * buffer of colFloats, for `threads` threads (shared memory when more than
 * one), and vectorFloats floats of scratch for the elementwise kernels
 * (0 when the model runs none). useWasm false asks for the JavaScript kernels.
 */
export function createKernelMemory(arenaFloats: number, colFloats: number, threads: number, useWasm: boolean, vectorFloats = 0): KernelMemory {
  const shared = threads > 1;
  // The packing spaces start on a 64-byte boundary, where the kernels' vector loads are aligned.
  const packFloat = Math.ceil((arenaFloats + colFloats) / 16) * 16;
  // The vector scratch comes last: the elementwise kernels read up to 3 floats past an operand's end, always inside the memory.
  const vectorFloat = packFloat + threads * GEMM_WASM_PACK_FLOATS;
  const bytes = 4 * (vectorFloat + vectorFloats);
  const wasm = wasmApi();
  let note: string;
  if (!useWasm) note = "the JavaScript kernels were asked for (wasm: false)";
  else if (wasm === null) note = "WebAssembly is not available";
  else if (bytes > WASM_PAGE * WASM_MAX_PAGES) note = `the model needs ${bytes} bytes, more than a WebAssembly memory holds (4 GiB)`;
  else {
    try {
      const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
      const memory = new wasm.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) });
      const { module, note: kernelNote } = createWasmModule(wasm, shared);
      const kernels = createWasmGemm(module, memory, 4 * packFloat);
      // The views share the buffer the kernels hold, which gemm checks its operands against.
      return {
        arena: new Float32Array(kernels.buffer, 0, arenaFloats),
        col: new Float32Array(kernels.buffer, 4 * arenaFloats, colFloats),
        wasm: kernels,
        module: shared ? module : null,
        memory: shared ? memory : null,
        packBase: 4 * packFloat,
        note: kernelNote,
        wasmMemory: memory,
        vectorBase: vectorFloats > 0 ? 4 * vectorFloat : -1,
      };
    } catch (e) {
      // An engine without SIMD rejects the module; one that cannot reserve the memory throws a RangeError.
      note = `WebAssembly SIMD could not be used (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  const arena = shared ? new Float32Array(new SharedArrayBuffer(4 * arenaFloats)) : new Float32Array(arenaFloats);
  return { arena, col: new Float32Array(colFloats), wasm: null, module: null, memory: null, packBase: 0, note, wasmMemory: null, vectorBase: -1 };
}
