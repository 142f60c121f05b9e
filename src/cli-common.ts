// Pieces every `nnc` command shares: reading sources, printing diagnostics,
// parsing common options, and the usage error (exit code 2).
import { availableParallelism, totalmem } from "node:os";
import { lower, planStats, type Lowered } from "./lower/lower.ts";
import { DataError } from "./data/errors.ts";
import type { GradGraph } from "./ir/graph.ts";
import { Option } from "commander";
import { readTextFile } from "./cli-files.ts";
import { renderDiagnostics, diagnosticToJson } from "./diag/render.ts";
import type { FrontEndResult } from "./pipeline.ts";

export class UsageError extends Error {}

/** A .nn file's text (`-`: standard input); a coded error (NNC509) if it cannot be read. */
export function readSource(path: string): string {
  return readTextFile(path);
}

export function useColor(opt: boolean | undefined): boolean {
  if (opt === false || process.env.NO_COLOR) return false;
  return Boolean(process.stderr.isTTY);
}

/** Prints diagnostics; returns whether any was an error. */
export function report(results: FrontEndResult[], format: string, color: boolean): boolean {
  const all = results.flatMap((r) => r.diagnostics.sorted());
  if (format === "json") {
    process.stdout.write(JSON.stringify({ diagnostics: all.map(diagnosticToJson) }, null, 2) + "\n");
  } else if (all.length > 0) {
    process.stderr.write(renderDiagnostics(all, { color }));
    const errors = all.filter((d) => d.severity === "error").length;
    const warnings = all.length - errors;
    const parts = [errors ? `${errors} error${errors === 1 ? "" : "s"}` : "", warnings ? `${warnings} warning${warnings === 1 ? "" : "s"}` : ""].filter(Boolean);
    process.stderr.write(`${parts.join(", ")}\n`);
  }
  return all.some((d) => d.severity === "error");
}

export const formatOption = () => new Option("--format <format>", "output format").choices(["text", "json"]).default("text");

export function parseSeed(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`--seed expects a whole number from 0 to 4294967295, got \`${v}\``);
  return Number(v);
}

/**
 * Parses `--dim batch=100` into a record; repeatable (`--dim a=1 --dim b=2`),
 * and one value may list several (`--dim a=1,b=2`). One value per flag, so
 * `--dim batch=100 FILE` leaves FILE to the command. The record has no
 * prototype: a dim named `constructor` or `__proto__` is an ordinary key.
 */
export function collectDims(value: string, previous: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, previous);
  for (const part of value.split(",")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(part.trim());
    if (!m || Number(m[2]) < 1) throw new UsageError(`--dim expects NAME=SIZE with a positive size, got \`${value}\``);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The --dim option of every command: one binding per flag, repeatable. */
export const dimOption = (description: string) => new Option("--dim <name=size>", description).argParser(collectDims).default(Object.create(null), "none");

/** Rejects a --dim the model does not declare, naming the dims it does. */
export function checkDimNames(declared: readonly { readonly name: string }[], given: Readonly<Record<string, number>>): void {
  const names = new Set(declared.map((d) => d.name));
  for (const name of Object.keys(given)) {
    if (!names.has(name)) {
      const known = [...names].map((n) => `\`${n}\``).join(", ");
      throw new UsageError(`--dim ${name}: the model has no dim \`${name}\` (${known ? `its dims: ${known}` : "it declares none"})`);
    }
  }
}

/** A dim's size from --dim, looked up as an own property only. */
export function givenDim(given: Readonly<Record<string, number>>, name: string): number | undefined {
  return Object.hasOwn(given, name) ? given[name] : undefined;
}

/**
 * --threads capped at the cores this machine has: more threads than cores
 * only queue behind each other (64 on 2 cores ran 5x slower). The note says so.
 */
export function capThreads(asked: number, cores = availableParallelism()): { threads: number; note?: string } {
  if (asked <= cores) return { threads: asked };
  return { threads: cores, note: `note: --threads ${asked}: this machine has ${cores} core${cores === 1 ? "" : "s"}, so training uses ${cores} thread${cores === 1 ? "" : "s"}` };
}

/** A WebAssembly memory (wasm32) holds at most 4 GiB; the CPU module keeps its arena in one. */
const WASM_MEMORY_BYTES = 2 ** 32;

/**
 * Refuses sizes whose values cannot be allocated (`--dim hidden=100000000`,
 * `--batch 100000000`) with NNC520 and the memory they would need, before
 * the module tries and fails with a RangeError.
 */
export function checkModelFits(g: GradGraph, dims: Readonly<Record<string, number>>, plan: Lowered = lower(g), limit = Math.min(WASM_MEMORY_BYTES, totalmem())): void {
  const bytes = planStats(g, plan, dims).plannedBytes;
  if (bytes <= limit) return;
  const sizes = Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(", ");
  throw new DataError("NNC520", `${g.modelName} needs ${formatBytes(bytes)} for its values at ${sizes || "its sizes"}, more than the ${formatBytes(limit)} it can have here; lower --batch or the --dim sizes`);
}

export function formatBytes(b: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${i === 0 ? b : b.toFixed(1)} ${units[i]}`;
}
