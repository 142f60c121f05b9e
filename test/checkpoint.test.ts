// The checkpoint format (docs/checkpoint.md, version 2): the runtime's reader
// refuses every damaged or edited file with a message saying what is wrong,
// and leaves the model as it was; version 1 files still load.
import { describe, expect, it } from "vitest";
import { CHECKPOINT_MAGIC, checksumOfCheckpoint, encodeCheckpoint, parseCheckpoint, readCheckpoint, writeCheckpoint, type TensorEntry } from "../src/backend/cpu/runtime/checkpoint.ts";

// A model of one 10 × 100 param (1000 values, like the edited tensor) and its optimizer state.
const ENTRIES: TensorEntry[] = [
  ["param/W", 0, [10, 100]],
  ["state/W/1", 1000, [10, 100]],
];
const arena = () => Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i));
const saved = writeCheckpoint("m", { batch: 4 }, 7, 3, arena(), ENTRIES);

/** The checkpoint with its header changed by `edit` and a correct checksum, so only the header checks can catch it. */
function edited(edit: (h: Record<string, any>) => void): Uint8Array {
  const { header, data } = parseCheckpoint(saved);
  const h = structuredClone(header) as Record<string, any>;
  edit(h);
  return encodeRaw(h, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Version 2 written out by hand, as docs/checkpoint.md describes it (encodeCheckpoint would set `format` and `version` itself). */
function encodeRaw(header: object, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const start = 16 + Math.ceil(head.length / 4) * 4;
  const bytes = new Uint8Array(start + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, CHECKPOINT_MAGIC, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, head.length, true);
  bytes.set(head, 16);
  bytes.set(data, start);
  view.setUint32(12, checksumOfCheckpoint(bytes.subarray(16)), true);
  return bytes;
}

function load(bytes: Uint8Array): { f32: Float32Array; run: () => unknown } {
  const f32 = new Float32Array(2000);
  return { f32, run: () => readCheckpoint(bytes, "m", f32, ENTRIES) };
}

describe("checkpoint format 2", () => {
  it("round-trips the tensors, step and seed, under a checksum of every byte after it", () => {
    const { f32, run } = load(saved);
    expect(run()).toEqual([7, 3]);
    expect(f32).toEqual(arena());
    const view = new DataView(saved.buffer);
    expect([view.getUint32(0, true), view.getUint32(4, true)]).toEqual([CHECKPOINT_MAGIC, 2]);
    expect(view.getUint32(12, true)).toBe(checksumOfCheckpoint(saved.subarray(16)));
    // The CRC-32 of zip and PNG: "123456789" → cbf43926.
    expect(checksumOfCheckpoint(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  const cases: [string, () => Uint8Array, string | RegExp][] = [
    ["a tensor length edited from 1000 to 100", () => edited((h) => (h.tensors[0].length = 100)), "param/W has length 100 in the header but its shape [10, 100] holds 1000 values"],
    ["an offset of -8", () => edited((h) => (h.tensors[1].offset = -8)), "state/W/1 has offset -8 in the header where 4000 was expected"],
    ["a missing tensors key", () => edited((h) => delete h.tensors), "the header has no `tensors` list"],
    ["a shape of another size", () => edited((h) => (h.tensors[0].shape = [10, 10])), "param/W has length 1000 in the header but its shape [10, 10] holds 100 values"],
    ["a tensor listed twice", () => edited((h) => (h.tensors[1].name = "param/W")), "lists param/W twice"],
    ["a fractional step", () => edited((h) => (h.step = 1.5)), "step 1.5 is not a whole number"],
    ["a negative seed", () => edited((h) => (h.seed = -1)), "seed -1 is not a whole number"],
    ["another format name", () => edited((h) => (h.format = "x")), 'format is "x"'],
    ["a header version that is not the file's", () => edited((h) => (h.version = 1)), "the header says version 1 but the file is version 2"],
    ["a dim of zero", () => edited((h) => (h.dims = { batch: 0 })), "dims are not positive whole numbers"],
    ["another model", () => edited((h) => (h.model = "other")), 'of model "other", not "m"'],
    ["a NaN weight", () => nanAt(5), "param/W holds NaN at index 5"],
    ["one flipped data byte", () => flipped(saved.length - 3), "the checksum does not match"],
    ["one flipped header byte that leaves valid JSON", () => flipHeaderDigit(), "the checksum does not match"],
    ["a cut-off file", () => saved.subarray(0, saved.length - 4), "truncated"],
    ["bytes after the last tensor", () => appended(), "4 bytes after its last tensor"],
    ["a future version", () => versioned(3), "version 3 is not supported"],
    ["a header that is not JSON", () => garbledHeader(), "header is corrupt"],
  ];
  it.each(cases)("refuses %s, leaving the model as it was", (_, make, message) => {
    const { f32, run } = load(make());
    expect(run).toThrow(message);
    expect(f32.every((v) => v === 0)).toBe(true);
  });

  it("still loads version 1 (no checksum word)", () => {
    const { header, data } = parseCheckpoint(saved);
    const head = new TextEncoder().encode(JSON.stringify({ ...header, version: 1 }));
    const start = 12 + Math.ceil(head.length / 4) * 4;
    const v1 = new Uint8Array(start + data.byteLength);
    const view = new DataView(v1.buffer);
    view.setUint32(0, CHECKPOINT_MAGIC, true);
    view.setUint32(4, 1, true);
    view.setUint32(8, head.length, true);
    v1.set(head, 12);
    v1.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start);
    const { f32, run } = load(v1);
    expect(run()).toEqual([7, 3]);
    expect(f32).toEqual(arena());
  });
});

/** The saved checkpoint with a NaN written into param/W and a correct checksum. */
function nanAt(index: number): Uint8Array {
  const { header, data } = parseCheckpoint(saved);
  const copy = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  new DataView(copy.buffer).setFloat32(index * 4, NaN, true);
  return encodeCheckpoint(header, copy);
}

function flipped(at: number): Uint8Array {
  const copy = saved.slice();
  copy[at]! ^= 0x10;
  return copy;
}

/** The step "7" in the header changed to "8": still a valid header, so only the checksum can tell. */
function flipHeaderDigit(): Uint8Array {
  const copy = saved.slice();
  const text = new TextDecoder().decode(copy.subarray(16, 16 + new DataView(copy.buffer).getUint32(8, true)));
  const at = 16 + text.indexOf('"step":7') + 7;
  copy[at] = "8".charCodeAt(0);
  return copy;
}

function appended(): Uint8Array {
  const copy = new Uint8Array(saved.length + 4);
  copy.set(saved);
  return copy;
}

function versioned(version: number): Uint8Array {
  const copy = saved.slice();
  new DataView(copy.buffer).setUint32(4, version, true);
  return copy;
}

function garbledHeader(): Uint8Array {
  const copy = saved.slice();
  copy[16] = "x".charCodeAt(0);
  return copy;
}
