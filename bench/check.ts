// Front-end speed: `nnc check` time against model size, on generated models
// of realistic statements (params, matrix products, activations, reductions).
import { runFrontEnd } from "../src/pipeline.ts";

/** A model of about `lines` lines: a deep stack of small layers with a loss at the end. */
export function generateModel(lines: number): string {
  const out = ["# generated for the benchmark", "model bench", "dim batch", "input x0: [batch, 32]", "target y: [batch, 32]"];
  let prev = "x0";
  for (let i = 1; out.length < lines - 3; i++) {
    out.push(`param W${i}: [32, _] = uniform(-0.1, 0.1)`);
    out.push(`param b${i}: [_]`);
    out.push(`h${i} = ${i % 3 === 0 ? "tanh" : i % 3 === 1 ? "relu" : "sigmoid"}(${prev} W${i} + b${i})`);
    out.push(`s${i} = softmax(h${i} * 0.5 - mean(h${i}, axis = -1, keepdims = true), axis = -1)  # a comment`);
    prev = `s${i}`;
  }
  out.push(`output ${prev}`, `loss = mse(${prev}, y)`, "train sgd(lr = 0.1, batch = 32, epochs = 1)");
  return out.join("\n") + "\n";
}

export interface CheckRow {
  lines: number;
  ms: number;
  usPerLine: number;
}

function timeCheck(text: string, repeats: number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const result = runFrontEnd("bench.nn", text);
    const t1 = performance.now();
    if (result.diagnostics.hasErrors) throw new Error("the generated model does not check");
    best = Math.min(best, t1 - t0);
  }
  return best;
}

export function benchCheck(sizes: readonly number[] = [250, 500, 1000, 2000, 4000], repeats = 7): CheckRow[] {
  timeCheck(generateModel(500), 3); // warm up the JIT and the parser
  return sizes.map((lines) => {
    const ms = timeCheck(generateModel(lines), repeats);
    return { lines, ms, usPerLine: (ms * 1000) / lines };
  });
}

export async function checkSuite(): Promise<unknown> {
  console.log("\nnnc check: time against model size (best of 7)");
  const rows = benchCheck();
  console.log("| lines | ms | µs/line |\n|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.lines} | ${r.ms.toFixed(1)} | ${r.usPerLine.toFixed(1)} |`);
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const growth = last.ms / first.ms / (last.lines / first.lines);
  console.log(`growth: ${(last.lines / first.lines).toFixed(0)}× the lines took ${(last.ms / first.ms).toFixed(1)}× the time (1.0 = linear: ${growth.toFixed(2)})`);
  return { rows, linearity: growth };
}
