// Gathers the runtime kernels an emitted module uses, as source text: the
// files of src/backend/cpu/runtime/ whose functions the module calls (and the
// files those import), in dependency order, with imports and `export`
// dropped. The kernels are tested once, as files, and shipped verbatim.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const DIR = join(import.meta.dirname, "runtime");

interface RuntimeFile {
  readonly name: string;
  readonly text: string;
  readonly exports: readonly string[];
  readonly imports: readonly string[];
}

let cache: RuntimeFile[] | undefined;

function files(): RuntimeFile[] {
  cache ??= readdirSync(DIR)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => {
      const text = readFileSync(join(DIR, f), "utf8");
      const exports = [...text.matchAll(/^export (?:function|const|interface|type) ([A-Za-z0-9_]+)/gm)].map((m) => m[1]!);
      const imports = [...text.matchAll(/^import .* from "\.\/([a-z0-9-]+)\.ts";$/gm)].map((m) => `${m[1]!}.ts`);
      return { name: f, text, exports, imports };
    });
  return cache;
}

/** The runtime source a module body needs, ready to append to it. */
export function runtimeSource(body: string): string {
  const all = files();
  const byName = new Map(all.map((f) => [f.name, f]));
  const wanted = new Set<string>();
  const add = (f: RuntimeFile): void => {
    if (wanted.has(f.name)) return;
    wanted.add(f.name);
    for (const i of f.imports) add(byName.get(i)!);
  };
  for (const f of all) if (f.exports.some((e) => new RegExp(`\\b${e}\\(`).test(body) || new RegExp(`\\b${e}\\b`).test(body) && /^[A-Z]/.test(e))) add(f);
  // Dependencies first; otherwise alphabetical, so the output is deterministic.
  const ordered: RuntimeFile[] = [];
  const placed = new Set<string>();
  const place = (f: RuntimeFile): void => {
    if (placed.has(f.name)) return;
    placed.add(f.name);
    for (const i of f.imports) place(byName.get(i)!);
    ordered.push(f);
  };
  for (const f of all) if (wanted.has(f.name)) place(f);
  return ordered
    .map((f) => {
      const text = f.text
        .split("\n")
        .filter((l) => !/^import .* from "\.\/[a-z0-9-]+\.ts";$/.test(l))
        .map((l) => l.replace(/^export (function|const|interface|type) /, "$1 "))
        .join("\n")
        .trim();
      return `// runtime/${f.name}\n${text}\n`;
    })
    .join("\n");
}
