// Gathers the runtime kernels an emitted module uses, as source text: the
// top-level declarations of src/backend/cpu/runtime/*.ts that the module
// calls, and those they use in turn, in file order, with imports and
// `export` dropped. The kernels are tested once, as files, and shipped
// verbatim; nothing the module does not use is included.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { toJavaScript } from "./strip-types.ts";

const DIR = join(import.meta.dirname, "runtime");

interface Declaration {
  readonly name: string;
  readonly file: string;
  /** The declaration with the comments directly above it, `export` removed. */
  readonly text: string;
}

let cache: Declaration[] | undefined;

const DECLARATION = /^(?:export )?(?:function|const|interface|type) ([A-Za-z0-9_]+)/;
const IMPORT = /^import .* from "\.\/[a-z0-9-]+\.ts";$/;

/** Splits a runtime file into its top-level declarations (each starts at column 0, as the runtime's rules require). */
function declarations(file: string, text: string): Declaration[] {
  const lines = text.split("\n");
  const out: Declaration[] = [];
  let start = -1;
  let name = "";
  const close = (end: number) => {
    if (start < 0) return;
    // Trailing blank lines and the next declaration's comments belong to the next one.
    let stop = end;
    while (stop > start && (lines[stop - 1]!.trim() === "" || isComment(lines[stop - 1]!))) stop--;
    out.push({ name, file, text: lines.slice(start, stop).join("\n").replace(/^export /m, "") });
  };
  const isComment = (l: string) => /^(\/\/|\/\*\*|\s\*)/.test(l);
  for (let i = 0; i < lines.length; i++) {
    const m = DECLARATION.exec(lines[i]!);
    if (!m) continue;
    close(i);
    let first = i;
    while (first > 0 && isComment(lines[first - 1]!) && !IMPORT.test(lines[first - 1]!)) first--;
    start = first;
    name = m[1]!;
  }
  close(lines.length);
  return out;
}

function all(): Declaration[] {
  cache ??= readdirSync(DIR)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .flatMap((f) => declarations(f, readFileSync(join(DIR, f), "utf8").replace(/\r\n/g, "\n")));
  return cache;
}

/** Code without comments and string contents: what a declaration really uses. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

const mentions = (text: string, name: string) => new RegExp(`\\b${name}\\b`).test(text);

/** The named declarations and every declaration they use, in turn. */
function closure(names: readonly string[]): Set<string> {
  const decls = all();
  const wanted = new Set<string>();
  const queue = decls.filter((d) => names.includes(d.name));
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (wanted.has(d.name)) continue;
    wanted.add(d.name);
    const text = code(d.text);
    for (const other of decls) if (!wanted.has(other.name) && other.name !== d.name && mentions(text, other.name)) queue.push(other);
  }
  return wanted;
}

/** Declarations by name, files in an order where each comes after the files it imports, declarations in file order. */
function ordered(wanted: ReadonlySet<string>): Declaration[] {
  const decls = all();
  const order = ["support.ts", "rng.ts", "gemm.ts", "wasm.ts", "threads.ts", "conv.ts", "nn.ts", "loss.ts", "optim.ts", "init.ts", "gemm-wasm.ts"];
  const rank = (f: string) => (order.includes(f) ? order.indexOf(f) : order.length);
  return decls.filter((d) => wanted.has(d.name)).sort((a, b) => rank(a.file) - rank(b.file) || decls.indexOf(a) - decls.indexOf(b));
}

/** The name under which an emitted module holds its helper threads' code (see gemmHelperSource). */
export const HELPER_SOURCE_NAME = "GEMM_HELPER_SOURCE";

/** The runtime source a module body needs, ready to append to it. */
export function runtimeSource(body: string): string {
  const used = code(body);
  const wanted = closure(all().filter((d) => mentions(used, d.name)).map((d) => d.name));
  let file = "";
  const parts: string[] = [];
  for (const d of ordered(wanted)) {
    if (d.file !== file) parts.push(`// runtime/${d.file}`);
    file = d.file;
    parts.push(d.text, "");
  }
  if (mentions(used, HELPER_SOURCE_NAME)) {
    parts.push("// The helper threads' code: the kernels above that they run, as JavaScript (a Worker evaluates no", "// TypeScript).");
    parts.push(`const ${HELPER_SOURCE_NAME} = \`${gemmHelperSource().replace(/[\\`]|\$\{/g, (c) => `\\${c}`)}\`;`, "");
  }
  return parts.join("\n");
}

/**
 * The script a gemm helper thread runs: startGemmHelper and everything it
 * uses, as JavaScript, then a call of it with the worker's start data.
 */
export function gemmHelperSource(): string {
  const kernels = toJavaScript(ordered(closure(["startGemmHelper"])).map((d) => d.text));
  return ['"use strict";', kernels, 'startGemmHelper(require("node:worker_threads").workerData);', ""].join("\n");
}
