// Timing shared by the suites: warm up, then the median of repeated samples.
// The median, not the best, because the machine is shared: a best-of favours
// whichever engine happened to run in a quiet moment, a median is steadier.
// Calls far shorter than the timer's resolution run in a loop per sample.

export interface TimingOptions {
  /** Untimed calls first, so the JIT (and tfjs's kernel caches) settle. */
  warmup: number;
  /** Timed samples; the result is their median. */
  samples: number;
  /** A sample repeats the call until it lasts at least this long. */
  minSampleMs: number;
  /**
   * About how long one measurement may take: slow calls (a tfjs-cpu matmul of
   * 1024 takes seconds) get fewer warm-ups and samples, never under 3 samples.
   */
  maxCaseMs: number;
}

export interface Timing {
  /** Median milliseconds per call. */
  ms: number;
  /** Fastest sample's milliseconds per call, for a sense of the noise. */
  minMs: number;
  samples: number;
  callsPerSample: number;
  /** Untimed calls before the samples. */
  warmups: number;
}

export const FULL: TimingOptions = { warmup: 3, samples: 9, minSampleMs: 40, maxCaseMs: 5000 };
export const QUICK: TimingOptions = { warmup: 2, samples: 5, minSampleMs: 15, maxCaseMs: 1500 };

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `f` n times; milliseconds in all. A promise it returns is awaited, so a synchronous call pays no microtask. */
async function run(f: () => unknown, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = f();
    if (r instanceof Promise) await r;
  }
  return performance.now() - t0;
}

/** Milliseconds for n calls of a contestant: timed here, or by the contestant itself (a peer in another process). */
const sampleMs = (c: Contestant, n: number): Promise<number> => ("timed" in c ? c.timed(n) : run(c.run, n));

/** Warms `c` up and decides how many calls a sample makes and how many samples to take. */
async function calibrate(c: Contestant, o: TimingOptions): Promise<{ perSample: number; samples: number; warmups: number }> {
  let warmMs = 0;
  let warmTotal = 0;
  let warmups = 0;
  for (; warmups < Math.max(1, o.warmup) && warmTotal < o.maxCaseMs / 3; warmups++) warmTotal += warmMs = await sampleMs(c, 1);
  // The last warm-up call estimates the cost: enough calls per sample to pass minSampleMs.
  const perSample = Math.max(1, Math.min(100_000, Math.ceil(o.minSampleMs / Math.max(warmMs, 1e-3))));
  const samples = Math.max(3, Math.min(o.samples, Math.floor(o.maxCaseMs / (perSample * Math.max(warmMs, 1e-3)))));
  return { perSample, samples, warmups };
}

const summary = (perCall: number[], perSample: number, warmups: number): Timing =>
  ({ ms: median(perCall), minMs: Math.min(...perCall), samples: perCall.length, callsPerSample: perSample, warmups });

/** Times `f` on its own. It may return a promise (a model whose calls are asynchronous). */
export async function time(f: () => unknown, o: TimingOptions): Promise<Timing> {
  const { perSample, samples, warmups } = await calibrate({ run: f }, o);
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) perCall.push((await run(f, perSample)) / perSample);
  return summary(perCall, perSample, warmups);
}

/** One of several ways to do the same work, timed by timeInterleaved. */
export type Contestant = (
  | { run: () => unknown }
  /**
   * A peer in another process (PyTorch) times its own samples: milliseconds
   * for `calls` calls, so that the pipe between the processes is crossed once
   * per sample, not once per call.
   */
  | { timed: (calls: number) => Promise<number> }
) & {
  /** Called before each of its samples, untimed: a tfjs contestant selects its backend here. */
  enter?: () => Promise<unknown>;
};

/**
 * Times contestants doing the same work in rounds, one sample of each per
 * round, so that a burst of load from elsewhere on a shared machine falls on
 * all of them rather than on whichever happened to run then. A contestant
 * that throws gets its error instead of a timing.
 */
export async function timeInterleaved(cs: readonly Contestant[], o: TimingOptions): Promise<(Timing | Error)[]> {
  const plans = [];
  for (const c of cs) {
    try {
      await c.enter?.();
      plans.push({ c, ...(await calibrate(c, o)), perCall: [] as number[], error: undefined as Error | undefined });
    } catch (e) {
      plans.push({ c, perSample: 0, samples: 0, warmups: 0, perCall: [], error: e instanceof Error ? e : new Error(String(e)) });
    }
  }
  const rounds = Math.max(...plans.map((p) => p.samples));
  for (let r = 0; r < rounds; r++) {
    for (const p of plans) {
      if (p.error || r >= p.samples) continue;
      await p.c.enter?.();
      p.perCall.push((await sampleMs(p.c, p.perSample)) / p.perSample);
    }
  }
  return plans.map((p) => p.error ?? summary(p.perCall, p.perSample, p.warmups));
}

/** Lets the event loop run (output flushes, worker messages) between measurements. */
export const breathe = () => new Promise<void>((r) => setTimeout(r, 0));

/** Deterministic values in [lo, hi): the benchmarks need realistic numbers, not random ones. */
export function filled(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // a small LCG
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/** One-hot rows of `classes` columns, the class of row r being r mod classes. */
export function oneHot(rows: number, classes: number): Float32Array {
  const out = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) out[r * classes + (r % classes)] = 1;
  return out;
}
