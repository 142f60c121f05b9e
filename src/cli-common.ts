// Pieces every `nnc` command shares: reading sources, printing diagnostics,
// parsing common options, and the usage error (exit code 2).
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

/** Parses `--dim batch=100` (repeatable) into a record. */
export function collectDims(value: string, previous: Record<string, number>): Record<string, number> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(value);
  if (!m || Number(m[2]) < 1) throw new UsageError(`--dim expects NAME=SIZE with a positive size, got \`${value}\``);
  return { ...previous, [m[1]!]: Number(m[2]) };
}

