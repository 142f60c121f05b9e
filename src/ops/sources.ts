// Graph sources: data, parameters, constants and `dim` values. The compiler
// creates these from declarations; users never call them.
import { defineOp, type IShape } from "./types.ts";

// Sources are the leaves of differentiation: the gradient pass reads their
// adjoints directly. A source's shape is fixed when it is created.
const fixed = (): IShape | undefined => {
  throw new Error("internal: a source's shape is set by the IR builder");
};

export const sourceOps = {
  input: defineOp({ name: "input", kind: "source", tensors: [], attrs: {}, vjp: "nograd", shape: fixed, doc: "an `input` or `target` declaration" }),
  param: defineOp({ name: "param", kind: "source", tensors: [], attrs: {}, vjp: "nograd", shape: fixed, doc: "a trainable `param`" }),
  const: defineOp({ name: "const", kind: "source", tensors: [], attrs: {}, vjp: "nograd", shape: () => [], doc: "a number" }),
  dimval: defineOp({ name: "dimval", kind: "source", tensors: [], attrs: {}, vjp: "nograd", shape: () => [], doc: "the value of a `dim`, as a scalar" }),
};
