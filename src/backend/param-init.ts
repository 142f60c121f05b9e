// How a param's initializer becomes a call of the runtime's initParam
// (src/backend/cpu/runtime/init.ts), for both backends' emitters and the
// interpreter: the INIT_* constant by name, so that emitted code reads
// `initParam(INIT_XAVIER, …, PARAM_STREAM + 2, …)` rather than bare numbers.
import type { Init } from "../ops/types.ts";
import * as runtimeInit from "./cpu/runtime/init.ts";

type InitConstant = keyof typeof runtimeInit & `INIT_${string}`;

/** The runtime's constant for each initializer (a missing kind, or a name the runtime lacks, fails to compile). */
export const INIT_CONSTANT: { readonly [K in Init["kind"]]: InitConstant & `INIT_${Uppercase<K>}` } = {
  zeros: "INIT_ZEROS",
  ones: "INIT_ONES",
  uniform: "INIT_UNIFORM",
  normal: "INIT_NORMAL",
  xavier: "INIT_XAVIER",
  he: "INIT_HE",
};

/** initParam's numeric code and its (a, b) arguments: (low, high) for uniform, (mean, std) for normal, else unused. */
export function initArguments(init: Init): { code: number; a: number; b: number } {
  const code = runtimeInit[INIT_CONSTANT[init.kind]];
  if (init.kind === "uniform") return { code, a: init.low, b: init.high };
  if (init.kind === "normal") return { code, a: init.mean, b: init.std };
  return { code, a: 0, b: 0 };
}

/**
 * The emitted statement that initialises param number k (its index in
 * graph.params) into `out` at offset `off`; `num` writes a number literal,
 * `shape` is the list of its dims as expressions.
 */
export function initParamCall(init: Init, k: number, shape: readonly string[], out: string, off: string, num: (v: number) => string): string {
  const { a, b } = initArguments(init);
  return `initParam(${INIT_CONSTANT[init.kind]}, ${num(a)}, ${num(b)}, [${shape.join(", ")}], seed, PARAM_STREAM + ${k}, ${out}, ${off});`;
}
