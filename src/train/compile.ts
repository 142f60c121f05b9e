// Compiles a .nn file for training: the CPU or WebGPU module, imported from
// a per-user private cache, plus what the data loader needs to know. The
// module the user keeps (--out/model.ts) is written by the caller, once
// every check has passed.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, chmodSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { emitCpuModule } from "../backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../backend/webgpu/emit-module.ts";
import { lower, type Lowered } from "../lower/lower.ts";
import { CodedError, writeError } from "../cli-files.ts";
import type { DataSpec } from "../data/dataset.ts";
import type { GradGraph } from "../ir/graph.ts";
import type { TrainableModel } from "./loop.ts";

export type Target = "cpu" | "webgpu";

export interface CompiledModule {
  /** The CPU module's answers at once; the WebGPU module's is a promise, and takes the device to run on. */
  createModel(options: { dims: Record<string, number>; seed?: number; device?: unknown; threads?: number }): TrainableModel | Promise<TrainableModel>;
  spec: { model: string; train: { optimizer: string; lr: number; batch?: number; epochs?: number } };
}

/**
 * Where compiled modules are cached, one place per user: $NNC_CACHE_DIR,
 * else $XDG_CACHE_HOME/nnc/modules, else ~/.cache/nnc/modules, else
 * <tmpdir>/nnc-<uid>/modules. README.md documents it.
 */
export function moduleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["NNC_CACHE_DIR"] && isAbsolute(env["NNC_CACHE_DIR"])) return env["NNC_CACHE_DIR"];
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg && isAbsolute(xdg)) return join(xdg, "nnc", "modules");
  const home = env["HOME"] ?? homedir();
  if (home && isAbsolute(home)) return join(home, ".cache", "nnc", "modules");
  return join(tmpdir(), `nnc-${process.getuid?.() ?? "user"}`, "modules");
}

/** The cache directory, created 0700 if missing; refused unless it is a real directory of this user's that nobody else can write to. */
export function privateCacheDir(dir = moduleCacheDir()): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw writeError(dir, e, "set NNC_CACHE_DIR (or XDG_CACHE_HOME) to a directory you can write to");
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  const unsafe = st.isSymbolicLink() ? "it is a symbolic link" : !st.isDirectory() ? "it is not a directory" : uid !== undefined && st.uid !== uid ? `it belongs to user ${st.uid}, not to you (${uid})` : undefined;
  const help = `remove it, or set NNC_CACHE_DIR or XDG_CACHE_HOME to a directory of your own`;
  if (unsafe) throw new CodedError("NNC511", `the module cache ${dir} is not private: ${unsafe}`, help);
  // Ours but open to others (made with a loose umask, say): close it before trusting it.
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/** Whether `path` is a regular file of this user's (not a link) holding exactly `code`. */
function holds(path: string, code: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    return st.isFile() && (uid === undefined || st.uid === uid) && readFileSync(fd, "utf8") === code;
  } finally {
    closeSync(fd);
  }
}

/**
 * Imports `code` from the cache under its content hash, with the .mts
 * extension, which is an ES module wherever it lies. A new file is created
 * exclusively (never through a link) and renamed into place, and what is
 * imported is read back first: only the code just compiled is ever run.
 */
async function importCached(code: string, dir: string): Promise<CompiledModule> {
  const path = join(dir, `${createHash("sha256").update(code).digest("hex")}.mts`);
  if (!holds(path, code)) {
    const tmp = `${path}.${randomBytes(8).toString("hex")}.tmp`;
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, code);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      throw writeError(tmp, e);
    }
    if (!holds(path, code)) throw new CodedError("NNC511", `the module cache ${dir} changed while nnc wrote ${path}`, "make sure no other user can write to it, then run again");
  }
  return (await import(pathToFileURL(path).href)) as CompiledModule;
}

/**
 * Imports a module's code (one nnc wrote, read back from a run directory)
 * through the private cache: a .ts file outside an ES-module package would
 * load as CommonJS, and only code read and checked here is run.
 */
export async function loadModuleCode(code: string): Promise<CompiledModule> {
  return importCached(code, privateCacheDir());
}

/** Compiles and imports the module; writes nothing but the private cache. */
export async function compileAndLoad(g: GradGraph, target: Target = "cpu", plan: Lowered = lower(g)): Promise<{ mod: CompiledModule; code: string }> {
  const code = target === "webgpu" ? emitWebgpuModule(g, plan).code : emitCpuModule(g, plan);
  return { mod: await importCached(code, privateCacheDir()), code };
}

/** The model's inputs and targets, as the data loader reads them. */
export function dataSpecs(g: GradGraph): DataSpec[] {
  return [...g.inputs.map((d) => ({ d, role: "input" as const })), ...g.targets.map((d) => ({ d, role: "target" as const }))].map(({ d, role }) => ({
    name: d.name,
    shape: g.shapes[d.node]!,
    dtype: g.dtypes[d.node] === "i32" ? "i32" : "f32",
    role,
    ...classesOf(g, d.node),
  }));
}

/** The number of classes of an integer target that sparse_cross_entropy or accuracy reads (its scores' width), so labels outside them are a data error. */
function classesOf(g: GradGraph, node: number): { classes?: number } {
  if (g.dtypes[node] !== "i32") return {};
  const use = g.nodes.find((n) => (n.op === "sparse_cross_entropy" || n.op === "accuracy") && n.args[1] === node);
  const width = use ? g.shapes[use.args[0]!]!.at(-1) : undefined;
  return typeof width === "number" ? { classes: width } : {};
}
