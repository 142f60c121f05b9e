// Numbers an emitted module passes to its runtime, named once here: the
// emitters write these names, never the bare numbers.
import type { Init } from "../ops/types.ts";
import { DROPOUT_STREAM, PARAM_STREAM } from "../runtime/rng.ts";

/** The `kind` argument of the runtime's initParam, by initializer. */
export const INIT_CODES: { readonly [K in Init["kind"]]: number } = { zeros: 0, ones: 1, uniform: 2, normal: 3, xavier: 4, he: 5 };

/** Stream bases of the counter-based RNG: param k draws from `params + k`. */
export const STREAMS = { params: PARAM_STREAM, dropout: DROPOUT_STREAM } as const;

/** The declarations an emitted module writes before using the names above. */
export function codeDeclarations(): string[] {
  const init = Object.entries(INIT_CODES).map(([k, v]) => `${k}: ${v}`).join(", ");
  const streams = Object.entries(STREAMS).map(([k, v]) => `${k}: 0x${v.toString(16)}`).join(", ");
  return [`/** Initializer codes of initParam. */`, `const INIT = { ${init} } as const;`, `/** Stream bases of the random numbers: param k draws from STREAM.params + k. */`, `const STREAM = { ${streams} } as const;`];
}

/** The initParam arguments naming a param's initializer and stream. */
export const initCode = (kind: Init["kind"]): string => `INIT.${kind}`;
export const paramStream = (k: number): string => `STREAM.params + ${k}`;
