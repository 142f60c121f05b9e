// Builds an ONNX graph node by node: fresh value names, constants made once,
// and the run-time sizes of symbolic dims (read from the shape of a graph
// input that carries them), so that a batch size left open in the `.nn`
// file stays open in the exported graph.
import type { Dim, Shape } from "../ops/types.ts";
import type { Attr, Elem, Initializer, OnnxDim, OnnxNode, ValueInfo } from "./onnx-proto.ts";

/** Where a symbolic dim's size can be read at run time: a graph input and its axis. */
interface DimSource {
  readonly value: string;
  readonly axis: number;
}

export class OnnxBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly consts = new Map<string, string>();
  private readonly dimSources = new Map<string, DimSource>();
  private readonly dimValues = new Map<string, string>();
  private fresh = 0;
  /** The doc string of the nodes being added (the `.nn` line they come from). */
  doc: string | undefined;

  /** @param fixed sizes of the dims that are baked in; any other dim stays symbolic. */
  constructor(private readonly fixed: ReadonlyMap<string, number>) {}

  dim(d: Dim): OnnxDim {
    return typeof d === "number" ? d : (this.fixed.get(d) ?? d);
  }

  /** Declares a graph input; its symbolic dims become readable by shapeOf and dimScalar. */
  input(name: string, elem: Elem, shape: Shape, doc?: string): void {
    const dims = shape.map((d) => this.dim(d));
    this.inputs.push({ name, elem, shape: dims, ...(doc !== undefined ? { doc } : {}) });
    dims.forEach((d, axis) => {
      if (typeof d === "string" && !this.dimSources.has(d)) this.dimSources.set(d, { value: name, axis });
    });
  }

  output(name: string, elem: Elem, shape: Shape, doc?: string): void {
    this.outputs.push({ name, elem, shape: shape.map((d) => this.dim(d)), ...(doc !== undefined ? { doc } : {}) });
  }

  initializer(t: Initializer): void {
    this.initializers.push(t);
  }

  /** A name no other value has: nnc's own names never contain `/`. */
  name(hint: string): string {
    return `${hint}/${this.fresh++}`;
  }

  /** Adds a node; returns its (first) output's name, `out` when given, else a fresh one. */
  op(op: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}, out?: string): string {
    const name = out ?? this.name(op);
    this.nodes.push({ op, inputs, outputs: [name], name, attrs, ...(this.doc !== undefined ? { doc: this.doc } : {}) });
    return name;
  }

  /** A node with several outputs (MaxPool's values and indices). */
  opMulti(op: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>>, outs: number): string[] {
    const names = Array.from({ length: outs }, () => this.name(op));
    this.nodes.push({ op, inputs, outputs: names, name: names[0]!, attrs, ...(this.doc !== undefined ? { doc: this.doc } : {}) });
    return names;
  }

  /** A float constant of the given shape (a scalar by default), made once per value. */
  floats(values: readonly number[], dims: readonly number[] = []): string {
    return this.constant("float", values, dims);
  }

  /** A 1-D int64 constant (axes, shapes, indices), made once per value. */
  ints(values: readonly number[]): string {
    return this.constant("int64", values, [values.length]);
  }

  private constant(elem: "float" | "int64", values: readonly number[], dims: readonly number[]): string {
    const key = `${elem}:${dims.join(",")}:${values.join(",")}`;
    const known = this.consts.get(key);
    if (known !== undefined) return known;
    const name = `const/${this.consts.size}`;
    const data = elem === "float" ? Float32Array.from(values) : BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, elem, dims, data });
    this.consts.set(key, name);
    return name;
  }

  /** The size of a symbolic dim as a 1-D int64 tensor of one element, or undefined when no input carries it. */
  private dimTensor(d: string): string | undefined {
    const src = this.dimSources.get(d);
    if (src === undefined) return undefined;
    return this.op("Shape", [src.value], { start: { i: src.axis }, end: { i: src.axis + 1 } });
  }

  /** Whether every symbolic dim of the shape can be read from an input. */
  canResolve(shape: Shape): boolean {
    return shape.every((d) => typeof this.dim(d) === "number" || this.dimSources.has(String(d)));
  }

  /** A shape as a 1-D int64 tensor (for Reshape and Expand); callers check canResolve first. */
  shapeOf(shape: Shape): string {
    const dims = shape.map((d) => this.dim(d));
    if (dims.every((d) => typeof d === "number")) return this.ints(dims as number[]);
    const parts = dims.map((d) => (typeof d === "number" ? this.ints([d]) : this.dimTensor(d)!));
    return this.op("Concat", parts, { axis: { i: 0 } });
  }

  /** A dim's size as a float scalar (the value of `dimval`), or undefined when no input carries it. */
  dimScalar(d: string): string | undefined {
    const size = this.dim(d);
    if (typeof size === "number") return this.floats([size]);
    const known = this.dimValues.get(size);
    if (known !== undefined) return known;
    const t = this.dimTensor(size);
    if (t === undefined) return undefined;
    const value = this.op("Cast", [this.op("Squeeze", [t])], { to: { i: 1 } });
    this.dimValues.set(size, value);
    return value;
  }
}
