// PyTorch as a peer: bench/peers/torch_peer.py in a child process of
// /usr/bin/python3 (Debian's python3-torch), one JSON object a line each way.
// The arrays travel once, as raw float32 files, so PyTorch starts from
// exactly the bits nnc starts from. A sample is timed inside Python, so the
// pipe's round trip is paid once per sample, not once per call.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dirname, "peers", "torch_peer.py");
export const TORCH_INSTALL = "apt install python3-torch";

/** One thread everywhere PyTorch might start more: its own pool, OpenMP, OpenBLAS. */
const ONE_THREAD = { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };

/** Whether /usr/bin/python3 can import torch: true, or the "skipped: …" line that says how to get it. */
export function torchAvailable(python = PYTHON): true | string {
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: "pipe", env: { ...process.env, ...ONE_THREAD } });
    return true;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const why = (err.stderr?.toString().trim().split("\n").pop() ?? err.message) || "python3 failed";
    return `skipped: install PyTorch (${TORCH_INSTALL}); ${python} cannot import torch (${why})`;
  }
}

export interface TorchNet {
  id: string;
  kind: "mlp" | "conv";
  batch: number;
  lr: number;
  /** nnc param name → array name. */
  params: Record<string, string>;
}

export interface TorchSetup {
  arrays: Record<string, { data: Float32Array; shape: readonly number[] }>;
  nets: readonly TorchNet[];
  /** Timed train-step cases: case → [net, inputs array, targets array]. */
  trains?: Record<string, [string, string, string]>;
  /** Timed inference cases: case → [net, inputs array]. */
  infers?: Record<string, [string, string]>;
  /** Timed epochs: case → [net, inputs array, targets array], the rows in order in batches of the net's batch. */
  epochs?: Record<string, [string, string, string]>;
  /** Square products n×n×n, from arrays `a<n>` and `b<n>`. */
  products?: readonly number[];
}

export class TorchPeer {
  private readonly pending: { resolve(v: Record<string, unknown>): void; reject(e: Error): void }[] = [];
  private closed: Error | undefined;
  version = "";
  /** What the last call of the last sample returned, where it was a number (an epoch's mean loss). */
  last: number | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly dir: string) {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      let answer: Record<string, unknown>;
      try {
        answer = JSON.parse(line) as Record<string, unknown>;
      } catch {
        answer = { error: `not a JSON answer: ${line.slice(0, 200)}` }; // something in Python printed to stdout
      }
      this.pending.shift()?.resolve(answer);
    });
    // Writing to a peer that has died fails with EPIPE; the exit handler below reports why it died.
    child.stdin.on("error", () => {});
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => {
      this.closed ??= new Error(`the PyTorch peer exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`);
      for (const p of this.pending.splice(0)) p.reject(this.closed);
    });
  }

  /** Starts the peer and hands it the arrays and networks. */
  static async start(setup: TorchSetup): Promise<TorchPeer> {
    const dir = mkdtempSync(join(tmpdir(), "nnc-torch-"));
    const shapes: Record<string, readonly number[]> = {};
    for (const [name, { data, shape }] of Object.entries(setup.arrays)) {
      writeFileSync(join(dir, `${name}.f32`), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      shapes[name] = shape;
    }
    const child = spawn(PYTHON, [SCRIPT], { env: { ...process.env, ...ONE_THREAD }, stdio: "pipe" });
    const peer = new TorchPeer(child, dir);
    const { arrays: _data, ...rest } = setup;
    try {
      peer.version = String((await peer.request({ cmd: "setup", dir, arrays: shapes, ...rest }))["torch"]);
    } catch (e) {
      peer.close(); // a live child would keep Node from exiting
      throw e;
    }
    return peer;
  }

  request(r: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(r) + "\n");
    }).then((a) => {
      if (typeof a["error"] === "string") throw new Error(`PyTorch peer: ${a["error"]}`);
      return a;
    });
  }

  /** Milliseconds for `calls` calls of a case, measured inside Python. */
  async sample(name: string, calls: number): Promise<number> {
    const a = await this.request({ cmd: "sample", case: name, calls });
    this.last = a["last"] as number | null;
    return a["ms"] as number;
  }

  async predict(net: string, x: string): Promise<Float32Array> {
    return Float32Array.from((await this.request({ cmd: "predict", net, x }))["p"] as number[]);
  }

  /** One SGD step; `mask` names an array of nnc's dropout multipliers, so the step is nnc's exactly. */
  async step(net: string, x: string, y: string, mask?: string): Promise<{ loss: number; params: Record<string, Float32Array> }> {
    const a = await this.request({ cmd: "step", net, x, y, ...(mask ? { mask } : {}) });
    const params = Object.fromEntries(Object.entries(a["params"] as Record<string, number[]>).map(([k, v]) => [k, Float32Array.from(v)]));
    return { loss: a["loss"] as number, params };
  }

  close(): void {
    if (!this.closed) this.child.stdin.end(JSON.stringify({ cmd: "quit" }) + "\n");
    this.closed ??= new Error("the PyTorch peer was closed");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
