// Assembles the runtime's WebAssembly SIMD modules with wabt:
// src/backend/cpu/runtime/gemm.wat (the matrix products) into gemm-wasm.ts,
// the plain module and the fused one (relaxed SIMD: its own micro-kernel,
// its multiply-adds fused), each in base64 for a plain and for a shared
// imported memory, and the size of the packing workspace that one gemm call
// needs; and
// vector.wat (the elementwise kernels) into vector-wasm.ts, the same way.
// Run `npm run build:wasm` (or `npx tsx scripts/build-wasm.ts`) after
// editing either; test/gemm-wasm.test.ts and test/vector-wasm.test.ts fail
// while a .wat and its .ts disagree.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import wabt from "wabt";

const runtimeDir = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "backend", "cpu", "runtime");
export const GEMM_WAT_PATH = join(runtimeDir, "gemm.wat");
export const GEMM_WASM_TS_PATH = join(runtimeDir, "gemm-wasm.ts");
export const VECTOR_WAT_PATH = join(runtimeDir, "vector.wat");
export const VECTOR_WASM_TS_PATH = join(runtimeDir, "vector-wasm.ts");

type WabtFeatures = NonNullable<Parameters<Awaited<ReturnType<typeof wabt>>["parseWat"]>[2]>;

/**
 * Every post-MVP feature off (wabt turns several on by default), so that the
 * module uses exactly what assembleGemm enables: SIMD128 and, for the shared
 * memory, threads.
 */
const NO_FEATURES: Required<WabtFeatures> = {
  exceptions: false, mutable_globals: false, sat_float_to_int: false, sign_extension: false, simd: false,
  threads: false, function_references: false, multi_value: false, tail_call: false, bulk_memory: false,
  reference_types: false, annotations: false, code_metadata: false, gc: false, memory64: false,
  extended_const: false, relaxed_simd: false,
};

/** The memory import as each .wat writes it; the shared variant appends `shared` to its limits. */
const MEMORY_LIMITS = "(memory 1 65536)";

/**
 * The module of gemm.wat in binary, for a plain (shared = false) or a shared
 * imported memory: the plain variant, or with relaxed the fused one (its
 * `;; @variant relaxed` section, every multiply-add fused). Only the SIMD
 * feature is enabled (plus threads, which a shared memory needs, and relaxed
 * SIMD for the fused variant), so the module cannot use relaxed SIMD or
 * atomics by accident. No names section: the bytes are the code alone.
 */
export async function assembleGemm(shared: boolean, wat: string = readFileSync(GEMM_WAT_PATH, "utf8"), relaxed = false): Promise<Uint8Array> {
  return relaxed ? assemble("gemm-relaxed.wat", shared, fusedMultiplyAdds(gemmVariant(wat, true)), true) : assemble("gemm.wat", shared, gemmVariant(wat, false));
}

/** A line that opens or closes a variant's section of gemm.wat. */
const VARIANT_LINE = /^[ \t]*;; @variant (plain|relaxed|end)[ \t]*$/;

/**
 * The text of gemm.wat for the plain module (relaxed = false) or the fused
 * one: the lines after `;; @variant plain` or `;; @variant relaxed`, up to
 * the next `;; @variant end`, are kept in that variant only (the two have
 * different micro-kernels); the marker lines themselves become blank, so
 * that line numbers in wabt's messages still match gemm.wat.
 */
export function gemmVariant(wat: string, relaxed: boolean): string {
  let section: string | null = null;
  const lines = wat.split("\n").map((line, i) => {
    const marker = VARIANT_LINE.exec(line)?.[1];
    if (marker !== undefined) {
      if ((marker === "end") !== (section !== null)) throw new Error(`gemm.wat:${i + 1}: ${marker === "end" ? "@variant end outside a section" : "@variant inside a section"}`);
      section = marker === "end" ? null : marker;
      return "";
    }
    return section === null || (section === "relaxed") === relaxed ? line : "";
  });
  if (section !== null) throw new Error(`gemm.wat: @variant ${section} is not closed`);
  return lines.join("\n");
}

/** The start of a vector multiply-add as gemm.wat writes them: `(f32x4.add (local.get $acc) (f32x4.mul A B))`. */
const VECTOR_MADD = /\(f32x4\.add \(local\.get (\$\w+)\) \(f32x4\.mul /g;
/** gemv's scalar tail: `(f32.add (local.get $s) (f32.mul A B))`. */
const SCALAR_MADD = /\(f32\.add \(local\.get (\$\w+)\) \(f32\.mul /g;

/** The two balanced s-expressions at text[at…] (after optional spaces), and where they end. */
function twoOperands(text: string, at: number): { a: string; b: string; end: number } {
  const one = (from: number): { expr: string; end: number } => {
    let i = from;
    while (text[i] === " ") i++;
    if (text[i] !== "(") throw new Error(`gemm.wat: expected an operand at ${i}`);
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      if (text[j] === "(") depth++;
      else if (text[j] === ")" && --depth === 0) return { expr: text.slice(i, j + 1), end: j + 1 };
    }
    throw new Error("gemm.wat: unbalanced parentheses");
  };
  const a = one(at);
  const b = one(a.end);
  if (text.slice(b.end, b.end + 2) !== "))") throw new Error(`gemm.wat: a multiply-add at ${at} has more than two operands`);
  return { a: a.expr, b: b.expr, end: b.end + 2 };
}

/**
 * gemm.wat with every multiply-add fused: `acc + a·b` becomes
 * `f32x4.relaxed_madd a b acc` (one rounding where the engine has FMA), and
 * gemv's scalar tail does the same on lane 0 of splats, so that a column
 * computes the same bits in the tail as in a vector lane (what splitting a
 * product between threads relies on). Every other instruction is kept.
 */
export function fusedMultiplyAdds(wat: string): string {
  let out = wat;
  for (const [pattern, fused] of [
    [VECTOR_MADD, (acc: string, a: string, b: string) => `(f32x4.relaxed_madd ${a} ${b} (local.get ${acc}))`],
    [SCALAR_MADD, (acc: string, a: string, b: string) => `(f32x4.extract_lane 0 (f32x4.relaxed_madd (f32x4.splat ${a}) (f32x4.splat ${b}) (f32x4.splat (local.get ${acc}))))`],
  ] as const) {
    let result = "";
    let last = 0;
    for (const m of out.matchAll(pattern)) {
      const { a, b, end } = twoOperands(out, m.index + m[0].length);
      result += out.slice(last, m.index) + fused(m[1]!, a, b);
      last = end;
    }
    out = result + out.slice(last);
  }
  // The one multiplication that is no multiply-add: the result's scaling by alpha (a folded SGD step), once per tile.
  if (/f32x4\.mul|f32\.mul/.test(out.replace(/;;.*$/gm, "").replaceAll("(f32x4.mul (local.get $alpha)", ""))) throw new Error("gemm.wat: a multiplication is left that is not a multiply-add");
  return out;
}

/** The module of vector.wat in binary, for a plain or a shared imported memory, as assembleGemm. */
export async function assembleVector(shared: boolean, wat: string = readFileSync(VECTOR_WAT_PATH, "utf8")): Promise<Uint8Array> {
  return assemble("vector.wat", shared, wat);
}

async function assemble(name: string, shared: boolean, wat: string, relaxed = false): Promise<Uint8Array> {
  if (wat.split(MEMORY_LIMITS).length !== 2) throw new Error(`${name} must contain ${MEMORY_LIMITS} exactly once (the memory import)`);
  const text = shared ? wat.replace(MEMORY_LIMITS, "(memory 1 65536 shared)") : wat;
  const wabtModule = await wabt();
  const features = { ...NO_FEATURES, simd: true, threads: shared, relaxed_simd: relaxed };
  const module = wabtModule.parseWat(shared ? name.replace(".wat", "-shared.wat") : name, text, features);
  try {
    module.resolveNames();
    // wabt.js's validate takes the feature set too (its typings omit the
    // parameter); without it, validation assumes wabt's defaults (no threads).
    (module as unknown as { validate(features: WabtFeatures): void }).validate(features);
    return module.toBinary({ log: false, write_debug_names: false }).buffer.slice();
  } finally {
    module.destroy();
  }
}

/**
 * The packing workspace of one gemm call, in floats, as gemm.wat states it
 * on its `;; @pack-floats N` line (the driver lays out the packed A block,
 * the packed B panel and the edge-tile scratch from the same block sizes).
 */
export function gemmPackFloats(wat: string = readFileSync(GEMM_WAT_PATH, "utf8")): number {
  const match = /^;; @pack-floats (\d+)$/m.exec(wat);
  if (match === null) throw new Error("gemm.wat has no `;; @pack-floats N` line");
  return Number(match[1]);
}

/** The text of gemm-wasm.ts for the gemm.wat given. */
export async function generateGemmWasmSource(wat: string = readFileSync(GEMM_WAT_PATH, "utf8")): Promise<string> {
  const plain = Buffer.from(await assembleGemm(false, wat)).toString("base64");
  const shared = Buffer.from(await assembleGemm(true, wat)).toString("base64");
  return [
    "// GENERATED by scripts/build-wasm.ts from gemm.wat; do not edit. Regenerate with npm run build:wasm.",
    "",
    "/** The WebAssembly SIMD gemm/gemv module (gemm.wat) for a non-shared imported memory env.memory, in base64. */",
    `export const GEMM_WASM_BASE64 = "${plain}";`,
    "",
    "/** The same module for a shared imported memory (a WebAssembly.Memory with shared: true and a maximum of at most 65536 pages), in base64. */",
    `export const GEMM_WASM_SHARED_BASE64 = "${shared}";`,
    "",
    "/** The module with fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd), for engines that have relaxed SIMD, in base64. */",
    `export const GEMM_WASM_RELAXED_BASE64 = "${Buffer.from(await assembleGemm(false, wat, true)).toString("base64")}";`,
    "",
    "/** The same for a shared imported memory, in base64. */",
    `export const GEMM_WASM_RELAXED_SHARED_BASE64 = "${Buffer.from(await assembleGemm(true, wat, true)).toString("base64")}";`,
    "",
    "/** Floats of packing workspace (the `pack` argument, 16-byte aligned is best) that one gemm call uses. */",
    `export const GEMM_WASM_PACK_FLOATS = ${gemmPackFloats(wat)};`,
    "",
  ].join("\n");
}

/** The text of vector-wasm.ts for the vector.wat given. */
export async function generateVectorWasmSource(wat: string = readFileSync(VECTOR_WAT_PATH, "utf8")): Promise<string> {
  const plain = Buffer.from(await assembleVector(false, wat)).toString("base64");
  const shared = Buffer.from(await assembleVector(true, wat)).toString("base64");
  return [
    "// GENERATED by scripts/build-wasm.ts from vector.wat; do not edit. Regenerate with npm run build:wasm.",
    "",
    "/** The WebAssembly SIMD elementwise kernels (vector.wat) for a non-shared imported memory env.memory, in base64. */",
    `export const VECTOR_WASM_BASE64 = "${plain}";`,
    "",
    "/** The same module for a shared imported memory, in base64. */",
    `export const VECTOR_WASM_SHARED_BASE64 = "${shared}";`,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  writeFileSync(GEMM_WASM_TS_PATH, await generateGemmWasmSource());
  const bytes = (await assembleGemm(false)).length;
  console.log(`wrote ${GEMM_WASM_TS_PATH} (${bytes} bytes of wasm, ${gemmPackFloats()} floats of packing workspace)`);
  writeFileSync(VECTOR_WASM_TS_PATH, await generateVectorWasmSource());
  console.log(`wrote ${VECTOR_WASM_TS_PATH} (${(await assembleVector(false)).length} bytes of wasm)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
