// The order in which nnc train feeds the rows, and the validation split.
// An epoch's order is a function of the seed and the epoch's number alone, so
// a run resumed at epoch k draws the orders an uninterrupted run draws: no
// generator state needs saving. Rows are gathered into buffers made once per
// batch size, so a shuffled step allocates nothing.
import type { Dataset } from "../data/dataset.ts";

type Arrays = Record<string, Float32Array | Int32Array>;

/** mulberry32 seeded by the run's seed and the epoch, mixed so that nearby seeds and epochs give unrelated orders. */
function epochRandom(seed: number, epoch: number): () => number {
  let s = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 0x632be5ab, 0xc2b2ae35);
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `order` with epoch `epoch`'s permutation of its indices (Fisher–Yates); `seed` undefined keeps file order. */
export function epochOrder(order: Uint32Array, seed: number | undefined, epoch: number): Uint32Array {
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (seed === undefined) return order;
  const next = epochRandom(seed, epoch);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Rows [start, start + n) of every column, as views (no copy). */
export function rowsOf(data: Dataset, names: readonly string[], start: number, n: number): Arrays {
  const out: Arrays = {};
  for (const name of names) {
    const col = data.columns.get(name)!;
    const size = col.length / data.rows;
    out[name] = col.subarray(start * size, (start + n) * size);
  }
  return out;
}

/** Batches of `n` rows picked by an order: one buffer per column, made once and refilled every step. */
export class Gatherer {
  private readonly batch: Arrays = {};
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly data: Dataset,
    private readonly names: readonly string[],
    private readonly n: number,
  ) {
    for (const name of names) {
      const col = data.columns.get(name)!;
      const size = col.length / data.rows;
      this.sizes.set(name, size);
      this.batch[name] = col instanceof Int32Array ? new Int32Array(size * n) : new Float32Array(size * n);
    }
  }

  /** The rows order[start … start + n), copied into the batch buffers (returned, the same object every call). */
  gather(order: Uint32Array, start: number): Arrays {
    for (const name of this.names) {
      const col = this.data.columns.get(name)!;
      const size = this.sizes.get(name)!;
      const buf = this.batch[name]!;
      for (let r = 0; r < this.n; r++) {
        // Element by element: a subarray per row would allocate a view every row of every step.
        const from = order[start + r]! * size;
        const to = r * size;
        for (let k = 0; k < size; k++) buf[to + k] = col[from + k]!;
      }
    }
    return this.batch;
  }
}

/**
 * The last `share` of the rows as a validation set, the rest for training:
 * taken before any shuffling, as views, so the split is the same in every
 * run and every epoch (Keras's validation_split does the same).
 */
export function splitValidation(data: Dataset, share: number): { train: Dataset; validation: Dataset } {
  const held = Math.round(data.rows * share);
  const cut = data.rows - held;
  const part = (start: number, n: number): Dataset => {
    const columns = new Map<string, Float32Array | Int32Array>();
    for (const [name, col] of data.columns) {
      const size = col.length / data.rows;
      columns.set(name, col.subarray(start * size, (start + n) * size));
    }
    return { rows: n, columns };
  };
  return { train: part(0, cut), validation: part(cut, held) };
}
