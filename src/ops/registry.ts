// The op registry: one definition per op, gathered into a table typed so that
// an op missing from it (or from any later rule table keyed by OpName) fails
// to compile.
import { accuracyOps } from "./accuracy.ts";
import { activationOps } from "./activations.ts";
import { axisOps } from "./axis.ts";
import { compareOps } from "./compare.ts";
import { elementwiseOps } from "./elementwise.ts";
import { layerOps } from "./layers.ts";
import { linalgOps } from "./linalg.ts";
import { lossOps } from "./losses.ts";
import { internalOps } from "./internal.ts";
import { batchnormOps } from "./batchnorm.ts";
import { normOps } from "./norm.ts";
import { poolOps } from "./pool.ts";
import { sparseOps } from "./sparse.ts";
import { sourceOps } from "./sources.ts";
import { structureOps } from "./structure.ts";
import type { OpDef, OpName } from "./types.ts";

export const OPS: { readonly [K in OpName]: OpDef<K> } = {
  ...sourceOps,
  ...elementwiseOps,
  ...activationOps,
  ...linalgOps,
  ...axisOps,
  ...layerOps,
  ...lossOps,
  ...accuracyOps,
  ...internalOps,
  ...structureOps,
  ...normOps,
  ...poolOps,
  ...sparseOps,
  ...batchnormOps,
  ...compareOps,
};

/** Built-in functions by the name users call them. A Map, so `constructor` or `__proto__` find nothing. */
export const BUILTINS: ReadonlyMap<string, OpName> = new Map(
  (Object.keys(OPS) as OpName[]).flatMap((k) => {
    const callName = OPS[k].callName;
    return callName ? [[callName, k] as const] : [];
  }),
);

export const INITIALIZERS = ["zeros", "ones", "uniform", "normal", "xavier", "he"] as const;
