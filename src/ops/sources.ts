// Graph sources: data, parameters, constants and `dim` values. The compiler
// creates these from declarations; users never call them.
import { defineOp, type IShape } from "./types.ts";

// Sources are the leaves of differentiation: the gradient pass reads their
// adjoints directly. A source's shape is fixed when it is created.
const fixed = (): IShape | undefined => {
  throw new Error("internal: a source's shape is set by the IR builder");
};

const source = { kind: "source", tensors: [], attrs: {}, vjp: "nograd", cpu: "source", wgsl: "source" } as const;

export const sourceOps = {
  input: defineOp({ ...source, name: "input", shape: fixed, doc: "an `input` or `target` declaration" }),
  param: defineOp({ ...source, name: "param", shape: fixed, doc: "a trainable `param`" }),
  const: defineOp({ ...source, name: "const", shape: () => [], doc: "a number" }),
  dimval: defineOp({ ...source, name: "dimval", shape: () => [], doc: "the value of a `dim`, as a scalar" }),
};
