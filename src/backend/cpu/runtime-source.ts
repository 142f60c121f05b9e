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
  readonly kind: "function" | "const" | "interface" | "type";
  readonly file: string;
  /** The declaration with the comments directly above it, `export` removed. */
  readonly text: string;
}

let cache: Declaration[] | undefined;

const DECLARATION = /^(?:export )?(function|const|interface|type) ([A-Za-z0-9_]+)/;
const IMPORT = /^import .* from "\.\/[a-z0-9-]+\.ts";$/;

/** Splits a runtime file into its top-level declarations (each starts at column 0, as the runtime's rules require). */
function declarations(file: string, text: string): Declaration[] {
  const lines = text.split("\n");
  const out: Declaration[] = [];
  let start = -1;
  let name = "";
  let kind: Declaration["kind"] = "const";
  const close = (end: number) => {
    if (start < 0) return;
    // Trailing blank lines and the next declaration's comments belong to the next one.
    let stop = end;
    while (stop > start && (lines[stop - 1]!.trim() === "" || isComment(lines[stop - 1]!))) stop--;
    out.push({ name, kind, file, text: lines.slice(start, stop).join("\n").replace(/^export /m, "") });
  };
  const isComment = (l: string) => /^(\/\/|\/\*\*|\s\*)/.test(l);
  for (let i = 0; i < lines.length; i++) {
    const m = DECLARATION.exec(lines[i]!);
    if (!m) continue;
    close(i);
    let first = i;
    while (first > 0 && isComment(lines[first - 1]!) && !IMPORT.test(lines[first - 1]!)) first--;
    start = first;
    kind = m[1] as Declaration["kind"];
    name = m[2]!;
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
  const order = ["support.ts", "rng.ts", "gemm.ts", "gemm-direct.ts", "wasm.ts", "threads.ts", "conv.ts", "nn.ts", "broadcast.ts", "loss.ts", "optim.ts", "init.ts", "gemm-wasm.ts"];
  const rank = (f: string) => (order.includes(f) ? order.indexOf(f) : order.length);
  return decls.filter((d) => wanted.has(d.name)).sort((a, b) => rank(a.file) - rank(b.file) || decls.indexOf(a) - decls.indexOf(b));
}

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
  return parts.join("\n");
}

/** The declarations a gemm helper thread runs: startGemmHelper and everything it uses, in order. */
function helperDeclarations(): Declaration[] {
  return ordered(closure(["startGemmHelper"]));
}

/**
 * What an emitted module hands its helper threads: the functions (and the
 * constants they read) of its own runtime, which createGemmHelperScript turns back
 * into source text at createModel, so that the module carries the kernels
 * once. Types need no code; they are left out.
 */
export function gemmHelperDeclarations(): string {
  const decls = helperDeclarations();
  const named = (kind: Declaration["kind"]) => decls.filter((d) => d.kind === kind).map((d) => d.name);
  const functions = named("function");
  const constants = named("const");
  return [
    "// The helper threads' code: these functions and constants of the runtime above, as source text (createGemmHelperScript).",
    `const GEMM_HELPER: GemmHelperCode = {`,
    `  functions: [${functions.join(", ")}],`,
    `  constants: { ${constants.join(", ")} },`,
    "};",
    "",
  ].join("\n");
}

/** The helper threads' script as JavaScript, for tests and benchmarks that run the runtime's files directly. */
export function gemmHelperSource(): string {
  const kernels = toJavaScript(helperDeclarations().map((d) => d.text));
  return ['"use strict";', kernels, 'startGemmHelper(require("node:worker_threads").workerData);', ""].join("\n");
}
