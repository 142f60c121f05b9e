// Writes the parts of the documentation that restate a table of the code, so
// that they cannot drift from it:
//
//   docs/language.md         the built-in functions, by kind  (from OPS and COMPOSITES: callName, tensors, attrs, doc)
//   README.md                the list of built-in names        (from OPS)
//   grammar/nn.tmLanguage.json  the builtin-call pattern       (from OPS)
//   docs/diagnostics.md      the table of codes                (from DIAG_CODES)
//
//   npm run docs:generate    # rewrites what is stale, says which files
//
// In the markdown files only the text between `<!-- NAME:start -->` and
// `<!-- NAME:end -->` markers is generated; the hand-written text around it
// stays. The output is a pure function of the tables and the files' other
// text; test/generated-docs.test.ts fails while a committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DIAG_CODES } from "../src/diag/codes.ts";
import { COMPOSITES } from "../src/ops/composites.ts";
import { OPS } from "../src/ops/registry.ts";
import type { AttrSpec, OpDef, OpKind, OpName } from "../src/ops/types.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** Headings of the groups of built-ins, in the order they are listed; null: kinds users cannot call. */
const KIND_HEADINGS: { readonly [K in OpKind]: string | null } = {
  elementwise: "Elementwise",
  binary: "Elementwise on two tensors (broadcasting)",
  shape: "Shape",
  reduce: "Along an axis",
  layer: "Layers",
  loss: "Losses and penalties",
  metric: "Metrics",
  linalg: null,
  source: null,
};

/** What the documentation reads of an op definition. */
type Documented = Pick<OpDef<OpName>, "kind" | "callName" | "tensors" | "variadic" | "doc"> & { readonly attrs: object };

/** Every callable op of a kind, in registry order, then the composites of that kind (src/ops/composites.ts). */
function builtinsOf(kind: OpKind): Documented[] {
  return [...(Object.values(OPS) as Documented[]), ...(COMPOSITES.values() as Iterable<Documented>)].filter((d) => d.kind === kind && d.callName !== undefined);
}

/** The groups that have built-ins: [heading, ops]. */
function groups(): [string, Documented[]][] {
  return (Object.keys(KIND_HEADINGS) as OpKind[]).flatMap((kind) => {
    const heading = KIND_HEADINGS[kind];
    const ops = builtinsOf(kind);
    return heading !== null && ops.length > 0 ? [[heading, ops] as [string, Documented[]]] : [];
  });
}

/** How a call is written: `softmax(x, axis = -1)`, `sum(x, axis?, keepdims = false)`, `reshape(x, [d, …])`. */
export function signature(def: Documented): string {
  const attrs = Object.entries(def.attrs as Record<string, AttrSpec<unknown>>).map(([name, spec]) => {
    if (spec.kind === "dims") return "[d, …]";
    if (spec.default === undefined) return name;
    if (spec.default === null) return `${name}?`;
    return `${name} = ${JSON.stringify(spec.default)}`;
  });
  return `${def.callName}(${[...def.tensors, ...(def.variadic ? ["…"] : []), ...attrs].join(", ")})`;
}

function builtinTables(): string[] {
  return groups().flatMap(([heading, ops]) => [
    `### ${heading}`,
    "",
    "| call | what it computes |",
    "|---|---|",
    ...ops.map((d) => `| \`${signature(d)}\` | ${d.doc.replaceAll("|", "\\|")} |`),
    "",
  ]);
}

function builtinList(): string[] {
  return groups().map(([heading, ops]) => `  - ${heading.toLowerCase()}: \`${ops.map((d) => d.callName).join(" ")}\``);
}

function codeTable(): string[] {
  return ["| code | meaning |", "|---|---|", ...Object.entries(DIAG_CODES).map(([code, meaning]) => `| ${code} | ${meaning} |`)];
}

/** Replaces the lines between the `name` markers (which stay) by `lines`; throws if the markers are missing. */
export function replaceBetween(text: string, name: string, lines: readonly string[]): string {
  const start = new RegExp(`^[ \\t]*<!-- ${name}:start\\b.*-->\\n`, "m").exec(text);
  const end = new RegExp(`^[ \\t]*<!-- ${name}:end -->`, "m").exec(text);
  if (!start || !end || end.index < start.index) throw new Error(`missing <!-- ${name}:start --> … <!-- ${name}:end --> markers`);
  const from = start.index + start[0].length;
  return text.slice(0, from) + lines.map((l) => `${l}\n`).join("") + text.slice(end.index);
}

/** The TextMate grammar with its builtin pattern listing every built-in (longest first, so none is cut short). */
function withBuiltinPattern(grammarJson: string): string {
  const grammar = JSON.parse(grammarJson) as { repository: Record<string, { begin?: string }> };
  const rule = grammar.repository["builtin-call"];
  if (rule?.begin === undefined) throw new Error("nn.tmLanguage.json has no repository.builtin-call.begin");
  const names = groups()
    .flatMap(([, ops]) => ops.map((d) => d.callName!))
    .sort((a, b) => b.length - a.length || a.localeCompare(b));
  rule.begin = `\\b(${names.join("|")})(\\()`;
  return `${JSON.stringify(grammar, null, 2)}\n`;
}

export interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly text: string;
}

/** Every generated file as it should be now, from the committed text around the generated parts. */
export function generatedDocs(read: (path: string) => string = (p) => readFileSync(join(ROOT, p), "utf8")): GeneratedFile[] {
  return [
    { path: "docs/language.md", text: replaceBetween(read("docs/language.md"), "builtins", builtinTables()) },
    { path: "README.md", text: replaceBetween(read("README.md"), "builtins", builtinList()) },
    { path: "grammar/nn.tmLanguage.json", text: withBuiltinPattern(read("grammar/nn.tmLanguage.json")) },
    { path: "docs/diagnostics.md", text: replaceBetween(read("docs/diagnostics.md"), "codes", codeTable()) },
  ];
}

function main(): void {
  let written = 0;
  for (const f of generatedDocs()) {
    const path = join(ROOT, f.path);
    if (readFileSync(path, "utf8") === f.text) continue;
    writeFileSync(path, f.text);
    console.log(`wrote ${f.path}`);
    written++;
  }
  if (written === 0) console.log("every generated file was up to date");
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
