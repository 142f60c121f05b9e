// CIFAR-10's binary format: a file is a run of 3,073-byte records, each one
// label byte (0..9) and then the 32×32×3 image as 3,072 bytes, the red plane,
// then the green, then the blue (row by row within each plane). The plane
// order is kept: a model taking [batch, 3072] sees the bytes as the file has them.
// The data set ships as data_batch_1.bin … data_batch_5.bin and test_batch.bin.

import { DataError } from "./errors.ts";
import type { RawData } from "./dataset.ts";

export const CIFAR_RECORD = 3073;
export const CIFAR_CLASSES = 10;
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = "test_batch.bin";

/** Reads one CIFAR-10 binary file into features [n, 3072] and labels [n]. */
export function parseCifar(bytes: Uint8Array, file: string): RawData {
  if (bytes.length === 0) throw new DataError("NNC502", `${file}: the file is empty; a CIFAR-10 file is a run of 3,073-byte records`, file);
  const rows = Math.floor(bytes.length / CIFAR_RECORD);
  const rest = bytes.length % CIFAR_RECORD;
  if (rest !== 0) {
    throw new DataError("NNC503",
      `${file}: record ${rows} is cut short: it has ${rest} of its 3,073 bytes (the file holds ${bytes.length} bytes, not a whole number of records)`, file);
  }
  const pixels = CIFAR_RECORD - 1;
  const features = new Uint8Array(rows * pixels);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * CIFAR_RECORD;
    const label = bytes[at]!;
    if (label >= CIFAR_CLASSES) {
      throw new DataError("NNC502", `${file}: record ${r} (byte ${at}) has the label ${label}; CIFAR-10's labels are 0..9`, file);
    }
    labels[r] = label;
    features.set(bytes.subarray(at + 1, at + CIFAR_RECORD), r * pixels);
  }
  return { features: { dims: [rows, pixels], data: features, file }, labels: { dims: [rows], data: labels, file } };
}

/** Several files' records, one after the other. */
export function concatRaw(parts: readonly RawData[], file: string): RawData {
  if (parts.length === 1) return parts[0]!;
  const rows = parts.reduce((n, p) => n + p.features.dims[0]!, 0);
  const width = parts[0]!.features.dims[1]!;
  const features = new Uint8Array(rows * width);
  const labels = new Uint8Array(rows);
  let r = 0;
  for (const p of parts) {
    features.set(p.features.data as Uint8Array, r * width);
    labels.set(p.labels!.data as Uint8Array, r);
    r += p.features.dims[0]!;
  }
  return { features: { dims: [rows, width], data: features, file }, labels: { dims: [rows], data: labels, file } };
}
