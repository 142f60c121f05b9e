// A protocol-buffers wire-format writer, just what the ONNX messages need:
// varints (int32, int64 and enums, negative ones as ten-byte two's
// complement), length-delimited fields (strings, bytes, nested messages,
// packed repeated numbers) and fixed32 floats. It only writes: ONNX files
// are produced here, never parsed. Hand-written rather than a dependency:
// it is these eighty lines, and the message layouts it serves (onnx-proto.ts)
// name every field number next to the onnx.proto message it encodes.

/** A message under construction: fields appended in the order written. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: 0 | 2 | 5): void {
    this.push(varint(BigInt(field * 8 + wireType)));
  }

  /** An int32, int64 or enum field (wire type 0). */
  int(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new Error(`internal: protobuf int field ${field} given ${value}`);
    this.tag(field, 0);
    this.push(varint(BigInt(value)));
    return this;
  }

  /** A float field (wire type 5, little-endian IEEE single). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** A bytes field, or an embedded message's bytes (wire type 2). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(BigInt(value.length)));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.push(varint(BigInt(v)));
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Base-128 varint; a negative value is its 64-bit two's complement (ten bytes), as protobuf encodes int64. */
function varint(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
  return Uint8Array.from(out);
}
