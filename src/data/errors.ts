// Errors of the data layer (loading files, fitting them to a model's inputs and
// targets). A DataError carries a diagnostic code in the 5xx "runtime" range so
// `nnc train` can print it like any other diagnostic and exit non-zero:
//   NNC501 file missing or unreadable
//   NNC502 corrupt or unrecognised format (bad magic, bad header, trailing bytes)
//   NNC503 truncated file (fewer bytes than the header promises)
//   NNC504 the data does not fit the model (sizes, counts, label range, bad cells)
//   NNC505 an option that makes no sense (--limit 0, --normalize -1)
// Messages start with the file and say what was expected and what was found.

export type DataErrorCode = "NNC501" | "NNC502" | "NNC503" | "NNC504" | "NNC505" | "NNC507" | "NNC508" | "NNC509" | "NNC513" | "NNC520";

export class DataError extends Error {
  override readonly name = "DataError";
  constructor(
    readonly code: DataErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** "28×28" for [28, 28]; "784" for [784]; "1" (one value) for []. */
export function formatDims(dims: readonly number[]): string {
  return dims.length === 0 ? "1" : dims.join("×");
}

/** "28×28 = 784" when the product needs showing, else just "784". */
export function formatSize(dims: readonly number[]): string {
  const n = dims.reduce((a, b) => a * b, 1);
  return dims.length > 1 ? `${formatDims(dims)} = ${n}` : String(n);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
