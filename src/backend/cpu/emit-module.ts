// `nnc compile --target cpu`: one self-contained TypeScript module per model,
// rendered from the lowered plan (src/lower). It needs nothing at run time:
// the runtime kernels it uses are included at the end, verbatim. All memory
// is one Float32Array (and one Int32Array for integer data) allocated at
// createModel; the programs allocate nothing. With `threads`, large matrix
// products are shared with helper threads that work in the same arena
// (runtime/threads.ts).
import { basename } from "node:path";
import type { GradGraph } from "../../ir/graph.ts";
import { lower, type Lowered, type Program } from "../../lower/lower.ts";
import { placeName } from "../../lower/places.ts";
import { VERSION } from "../../version.ts";
import { key } from "../api-types.ts";
import { constantValue, describeValue, initParamCall, maxSizeText, persistentLabel, PROGRAM_FUNCTIONS, sizeText, sourceComment } from "../common.ts";
import { commentText } from "../comment.ts";
import { Writer } from "../writer.ts";
import { api, header, loaders, modelObject, optimizer, views, workspace } from "./emit-api.ts";
import { emitStep, mayShareGemm, offsetName, type StepContext } from "./emit-steps.ts";
import { vectorLoop } from "./emit-vector.ts";
import { gemmHelperDeclarations, runtimeSource } from "./runtime-source.ts";
import { VECTOR_CONSTANTS } from "./runtime/vector.ts";


const PROGRAM_LABELS: { readonly [K in Program["kind"]]: string } = { forward: "forward (inference)", forwardTraining: "forward in training mode", loss: "loss evaluation", train: "training step" };

export function emitCpuModule(g: GradGraph, plan: Lowered = lower(g)): string {
  const w = new Writer();
  // Helper threads only where some product may be large enough to share.
  const threads = plan.programs.some((p) => p.steps.some((s) => s.kind === "gemm" && mayShareGemm(s)));
  const vector = usesVectorKernels(g, plan, threads);
  header(w, g, commentText(basename(g.file.path)), threads);
  api(w, g, plan.dropout);
  w.block(`export function createModel(options: CreateOptions): Model {`, () => {
    for (const d of g.dims) w.line(`const dim_${d.name} = dimension(options.dims, "${d.name}", ${d.default ?? "undefined"});`);
    w.line(`const dims = { ${g.dims.map((d) => `${key(d.name)}: dim_${d.name}`).join(", ")} };`);
    w.line("let seed = (options.seed ?? 1) >>> 0;");
    if (threads) {
      w.comment("The threads the platform allows (SharedArrayBuffer and node:worker_threads): team.threads, or 1 with team.note saying why.");
      w.line(`const team = createGemmTeam(threadsOption(options.threads));`);
    } else {
      w.line(`const threadsNote = threadsOption(options.threads) > 1 ? "no matrix product of this model is large enough to share between threads" : null;`);
    }
    w.line();
    memory(w, g, plan, threads, vector);
    initParams(w, g);
    views(w, g, plan.forward, plan.forwardTraining, plan.dropout);
    w.line("let step = 0;");
    w.line();
    loaders(w, g);
    programs(w, g, plan, threads, vector);
    optimizer(w, g, plan);
    modelObject(w, g, plan, threads);
  });
  w.line();
  w.comment(`---- runtime: the nnc ${VERSION} kernels this model uses, included verbatim ----`);
  w.line();
  const body = w.toString();
  // The helpers' code is named after the runtime it refers to, so that it can come last.
  const helper = threads ? gemmHelperDeclarations() : "";
  return body + runtimeSource(body + helper) + helper;
}

/** The arena: persistent values, then each program's temporaries (slots reused by liveness), the kernels' scratch, constants. */
function memory(w: Writer, g: GradGraph, plan: Lowered, threads: boolean, vector: boolean): void {
  w.comment("Memory, planned at compile time: persistent values first, then each program's temporaries (slots reused by liveness).");
  w.line("let top = 0;");
  const integers = g.dtypes.some((t) => t === "i32");
  if (integers) w.line("let itop = 0;");
  for (const p of plan.persistent) {
    w.line(`const ${placeName(p.place)} = ${p.arr === "i32" ? "itop; itop" : "top; top"} += ${sizeText(p.size)}; // ${persistentLabel(g, p)}`);
  }
  const temps: string[] = [];
  const intTemps: string[] = [];
  for (const p of plan.programs) {
    if (p.slots.length + p.intSlots.length === 0) continue;
    w.comment(`${PROGRAM_LABELS[p.kind]}:`);
    for (const [slots, base, ends] of [[p.slots, "top", temps], [p.intSlots, "itop", intTemps]] as const) {
      let at: string = base;
      for (const s of slots) {
        const name = offsetName(p, s.place);
        w.line(`const ${name} = ${at}; // ${s.values.map((v) => describeValue(g, v)).join(", ")}`);
        at = `${name} + ${maxSizeText(s.sizes)}`;
      }
      if (slots.length > 0) ends.push(`${at} - ${base}`);
    }
  }
  const { workspaces, columns } = workspace(g, plan.programs);
  w.line(`const arenaLength = top${temps.length > 0 ? ` + Math.max(${temps.join(", ")})` : ""};`);
  w.comment(
    "One memory for the arena and the kernels' scratch: a WebAssembly memory, where the SIMD matrix products work in place" +
      (threads ? " (shared with the helper threads, which work in it too)" : "") +
      ", or plain arrays for the JavaScript kernels where the platform has no WebAssembly SIMD.",
  );
  w.line(`const memory = createKernelMemory(arenaLength, ${columns}, ${threads ? "team.threads" : "1"}, options.wasm !== false${vector ? ", VECTOR_SCRATCH_FLOATS" : ""});`);
  w.line("const f32 = memory.arena;");
  if (integers) w.line(`const i32 = new Int32Array(itop${intTemps.length > 0 ? ` + Math.max(${intTemps.join(", ")})` : ""});`);
  for (const p of plan.persistent) if (p.place.kind === "const") w.line(`f32[${placeName(p.place)}] = ${constantValue(g, p.node)};`);
  w.line(`const ws = ${workspaces};`);
  if (threads) w.line(`startGemmHelpers(team, memory, ws.gemm, () => createGemmHelperScript(GEMM_HELPER));`);
  w.line();
}

function initParams(w: Writer, g: GradGraph): void {
  w.comment("Params, drawn from the counter-based RNG: the same values for the same seed everywhere.");
  g.params.forEach((_, k) => w.line(initParamCall(g, k, "f32", `p${k}`)));
  w.line();
}

/**
 * Whether some fused loop (or a product's epilogue) can run on the
 * WebAssembly SIMD elementwise kernels: then the module reserves their
 * scratch and makes them at createModel (`vec`).
 */
function usesVectorKernels(g: GradGraph, plan: Lowered, threads: boolean): boolean {
  const constants: string[] = [];
  return plan.programs.some((program) => {
    const c: StepContext = { g, program, threads, table: () => "", vectorConstant: (v) => (constants.includes(v) ? constants.indexOf(v) : constants.push(v) - 1) };
    return program.steps.some((s) => (s.kind === "fused" ? vectorLoop(c, s.nodes, s.out) : s.kind === "gemm" && s.epilogue.length > 0 ? vectorLoop(c, s.epilogue, s.out, s.matmul) : null) !== null);
  });
}

/**
 * Lines a program function may hold before it is split into parts. V8
 * optimises no function over 60 KB of bytecode: a long training step (a
 * resnet's or a GPT's) would run in the interpreter, several times slower.
 */
export const PART_LINES = 250;

/**
 * One function per program: its steps, each source line's comment above the
 * first step that computes it. A program longer than PART_LINES is a list of
 * calls to parts (runTrain1, runTrain2, ...), each a run of whole source lines.
 */
function programs(w: Writer, g: GradGraph, plan: Lowered, threads: boolean, vector: boolean): void {
  const tables: string[] = [];
  const constants: string[] = [];
  const vectorConstant = (v: string): number => {
    const k = constants.indexOf(v);
    if (k >= 0) return k;
    return constants.length < VECTOR_CONSTANTS ? constants.push(v) - 1 : -1;
  };
  for (const p of plan.programs) {
    const ctx: StepContext = {
      g,
      program: p,
      threads,
      table: (init) => {
        tables.push(`const table${tables.length} = ${init};`);
        return `table${tables.length - 1}`;
      },
      ...(vector ? { vectorConstant } : {}),
    };
    const name = PROGRAM_FUNCTIONS[p.kind];
    const parts = packParts(programGroups(g, plan, p, ctx));
    if (parts.length === 1) {
      w.block(`function ${name}(): void {`, () => w.lines_(parts[0]!));
      continue;
    }
    w.comment(`${name} in ${parts.length} parts of whole source lines: V8 optimises no function over 60 KB of bytecode.`);
    w.block(`function ${name}(): void {`, () => parts.forEach((_, k) => w.line(`${name}${k + 1}();`)));
    parts.forEach((part, k) => w.block(`function ${name}${k + 1}(): void {`, () => w.lines_(part)));
  }
  for (const t of tables) w.line(t);
  if (vector) {
    w.comment("The fused loops' WebAssembly SIMD kernels and their constants, or null: the JavaScript loops run.");
    w.line(`const vec = createVectorKernels(memory, [${constants.join(", ")}]);`);
  }
  w.line();
}

/** A program's code, one group of lines per source line (its comment, then its steps). */
function programGroups(g: GradGraph, plan: Lowered, p: Program, ctx: StepContext): string[][] {
  const groups: Writer[] = [];
  let last = "";
  for (const s of p.steps) {
    const comment = sourceComment(g, s.out);
    if (comment !== last || groups.length === 0) groups.push(new Writer());
    const w = groups[groups.length - 1]!;
    if (comment !== last) w.comment(comment);
    last = comment;
    emitStep(w, ctx, s);
  }
  if (p === plan.train) {
    const w = new Writer();
    gradientCopies(w, g, plan);
    groups.push(w);
  }
  return groups.map((w) => [...w.written()]);
}

/** Groups packed in order into parts of at most PART_LINES lines (a longer group is a part alone). */
function packParts(groups: readonly string[][]): string[][] {
  const parts: string[][] = [[]];
  for (const group of groups) {
    const part = parts[parts.length - 1]!;
    if (part.length > 0 && part.length + group.length > PART_LINES) parts.push([...group]);
    else part.push(...group);
  }
  return parts;
}

function gradientCopies(w: Writer, g: GradGraph, plan: Lowered): void {
  for (const c of plan.gradientCopies) {
    const from = plan.train.place.get(c.from);
    const to = placeName(c.to);
    const end = `${to} + ${sizeText(c.size)}`;
    if (from === undefined) w.line(`f32.fill(${constantValue(g, c.from)}, ${to}, ${end});`);
    else w.line(`f32.copyWithin(${to}, ${offsetName(plan.train, from)}, ${offsetName(plan.train, from)} + ${sizeText(c.size)});`);
  }
}
