// The ONNX messages nnc writes, as plain data, and their protobuf encoding.
// Field numbers are those of onnx.proto (ONNX 1.13+, IR version 8); each
// writer names the message it encodes.
import { ProtoWriter } from "./proto.ts";

/** Element types nnc uses, with their TensorProto.DataType numbers. */
export const ELEM = { float: 1, int32: 6, int64: 7 } as const;
export type Elem = keyof typeof ELEM;

/** A size, or the name of a symbolic dimension (dim_param). */
export type OnnxDim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly elem: Elem;
  readonly shape: readonly OnnxDim[];
  readonly doc?: string;
}

export interface Initializer {
  readonly name: string;
  readonly elem: "float" | "int64";
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
  readonly doc?: string;
}

export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: readonly number[] };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly doc?: string;
  readonly attrs?: Readonly<Record<string, Attr>>;
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opset: number;
  readonly producer: string;
  readonly producerVersion: string;
  readonly doc: string;
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly Initializer[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

/** AttributeProto.AttributeType numbers. */
const ATTR_TYPE = { f: 1, i: 2, s: 3, ints: 7 } as const;

function attribute(name: string, a: Attr): ProtoWriter {
  const w = new ProtoWriter().string(1, name); // AttributeProto.name
  if ("f" in a) w.float(2, a.f).int(20, ATTR_TYPE.f);
  else if ("i" in a) w.int(3, a.i).int(20, ATTR_TYPE.i);
  else if ("s" in a) w.string(4, a.s).int(20, ATTR_TYPE.s);
  else w.packedInts(8, a.ints).int(20, ATTR_TYPE.ints);
  return w;
}

function node(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter(); // NodeProto
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  if (n.doc !== undefined) w.string(6, n.doc);
  return w;
}

function tensor(t: Initializer): ProtoWriter {
  const w = new ProtoWriter(); // TensorProto
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, ELEM[t.elem]).string(8, t.name);
  // raw_data is little-endian, as typed arrays are on every platform Node.js runs on.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  if (t.doc !== undefined) w.string(12, t.doc);
  return w;
}

function valueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter(); // TensorShapeProto
  for (const d of v.shape) shape.message(1, typeof d === "number" ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, ELEM[v.elem]).message(2, shape); // TypeProto.Tensor
  const w = new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType)); // ValueInfoProto
  if (v.doc !== undefined) w.string(3, v.doc);
  return w;
}

/** The ModelProto's bytes: the contents of a .onnx file. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const g = new ProtoWriter(); // GraphProto
  for (const n of m.nodes) g.message(1, node(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, tensor(t));
  for (const v of m.inputs) g.message(11, valueInfo(v));
  for (const v of m.outputs) g.message(12, valueInfo(v));
  const opset = new ProtoWriter().string(1, "").int(2, m.opset); // OperatorSetIdProto, the default domain
  return new ProtoWriter() // ModelProto
    .int(1, m.irVersion)
    .string(2, m.producer)
    .string(3, m.producerVersion)
    .string(6, m.doc)
    .message(7, g)
    .message(8, opset)
    .finish();
}
