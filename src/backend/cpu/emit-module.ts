// `nnc compile --target cpu`: one self-contained TypeScript module per model.
// It needs nothing at run time: the runtime kernels it uses are included at
// the end, verbatim. All memory is one Float32Array (and one Int32Array for
// integer data) allocated at createModel; the programs allocate nothing.
// With `threads`, large matrix products are shared with helper threads that
// work in the same arena (runtime/threads.ts).
import { basename } from "node:path";
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { key } from "../api-types.ts";
import { Writer } from "../writer.ts";
import { dimExpr, emitStep, mayShareGemm, num, sourceComment, type StepContext } from "./emit-steps.ts";
import { slotSize } from "./memory.ts";
import { planModule } from "./plan.ts";
import { HELPER_SOURCE_NAME, runtimeSource } from "./runtime-source.ts";
import { api, header, loaders, modelObject, optimizer, views, workspace } from "./emit-api.ts";
import { VERSION } from "../../version.ts";
import type { Init } from "../../ops/types.ts";
import { initParamCall } from "../param-init.ts";


export function emitCpuModule(g: GradGraph): string {
  const src = basename(g.file.path);
  const { dropout, programs, inferProgram, inferTrainingProgram, evalProgram, trainProgram, persistent, constants, gradientCopies, memory } = planModule(g);
  const w = new Writer();
  const tables: string[] = [];
  // Helper threads only where some product may be large enough to share.
  const threads = programs.some((p) => p.steps.some((s) => s.kind === "gemm" && mayShareGemm(g, s)));
  header(w, g, src, threads);
  api(w, g, dropout);
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
    w.comment("Memory, planned at compile time: persistent values first, then each program's temporaries (slots reused by liveness).");
    w.line("let top = 0;");
    let intTop = false;
    for (const p of persistent) {
      if (p.arr === "i32") {
        if (!intTop) w.line("let itop = 0;");
        intTop = true;
        w.line(`const ${p.name} = itop; itop += ${p.size}; // ${p.comment}`);
      } else w.line(`const ${p.name} = top; top += ${p.size}; // ${p.comment}`);
    }
    if (!intTop && g.dtypes.some((t) => t === "i32")) w.line("const itop = 0;");
    const temps: string[] = [];
    const intTemps: string[] = [];
    programs.forEach((p) => {
      const m = memory.get(p)!;
      const label = p === trainProgram ? "training step" : p === evalProgram ? "loss evaluation" : p.training ? "forward in training mode" : "forward (inference)";
      if (m.slots.length + m.intSlots.length === 0) return;
      w.comment(`${label}:`);
      let at = "top";
      for (const s of m.slots) {
        w.line(`const ${s.name} = ${at}; // ${s.values.map((v) => describe(g, v)).join(", ")}`);
        at = `${s.name} + ${slotSize(s)}`;
      }
      temps.push(`${at} - top`);
      let iat = "itop";
      for (const s of m.intSlots) {
        w.line(`const ${s.name} = ${iat}; // ${s.values.map((v) => describe(g, v)).join(", ")}`);
        iat = `${s.name} + ${slotSize(s)}`;
      }
      intTemps.push(`${iat} - itop`);
    });
    const nonzero = (xs: string[], base: string) => xs.filter((x) => x !== `${base} - ${base}`);
    const f32Temps = nonzero(temps, "top");
    const i32Temps = nonzero(intTemps, "itop");
    const { workspaces, columns } = workspace(g, programs);
    w.line(`const arenaLength = top${f32Temps.length > 0 ? ` + Math.max(${f32Temps.join(", ")})` : ""};`);
    w.comment(
      "One memory for the arena and the kernels' scratch: a WebAssembly memory, where the SIMD matrix products work in place" +
        (threads ? " (shared with the helper threads, which work in it too)" : "") +
        ", or plain arrays for the JavaScript kernels where the platform has no WebAssembly SIMD.",
    );
    w.line(`const memory = createKernelMemory(arenaLength, ${columns}, ${threads ? "team.threads" : "1"}, options.wasm !== false);`);
    w.line("const f32 = memory.arena;");
    const integers = g.dtypes.some((t) => t === "i32");
    if (integers) w.line(`const i32 = new Int32Array(itop${i32Temps.length > 0 ? ` + Math.max(${i32Temps.join(", ")})` : ""});`);
    for (const c of constants) {
      const n = g.nodes[c.node]!;
      w.line(`f32[${c.name}] = ${n.op === "const" ? num((n.attrs as { value: number }).value) : dimExpr((n.attrs as { dim: string }).dim)};`);
    }
    w.line(`const ws = ${workspaces};`);
    if (threads) w.line(`startGemmHelpers(team, memory, ws.gemm, ${HELPER_SOURCE_NAME});`);
    w.line();
    w.comment("Params, drawn from the counter-based RNG: the same values for the same seed everywhere.");
    g.params.forEach((p, k) => {
      const init = (g.nodes[p.node]!.attrs as { init: Init }).init;
      w.line(`${initParamCall(init, k, g.shapes[p.node]!.map(dimExpr), "f32", `p${k}`, num)} // ${p.name} = ${init.kind}`);
    });
    w.line();
    views(w, g, memory.get(inferProgram)!, memory.get(inferTrainingProgram)!, dropout);
    w.line("let step = 0;");
    w.line();
    loaders(w, g);
    for (const p of programs) {
      const m = memory.get(p)!;
      const fname = p === trainProgram ? "runTrain" : p === evalProgram ? "runEval" : p.training ? "runForwardTraining" : "runForward";
      w.block(`function ${fname}(): void {`, () => {
        const ctx: StepContext = {
          g,
          place: (id) => {
            const at = m.place.get(id);
            if (at === undefined) throw new Error(`internal: no memory for node ${id}`);
            return at;
          },
          training: p.training,
          threads,
          table: (init) => {
            const name = `table${tables.length}`;
            tables.push(`const ${name} = ${init};`);
            return name;
          },
        };
        let last = "";
        for (const s of p.steps) {
          // One comment per source line, above the first step that computes it.
          const comment = sourceComment(g, s.out);
          if (comment !== last) w.comment(comment);
          last = comment;
          emitStep(w, ctx, s);
        }
        if (p === trainProgram) {
          for (const c of gradientCopies) {
            const from = m.place.get(c.from);
            if (from === undefined) w.line(`f32.fill(${num((g.nodes[c.from]!.attrs as { value: number }).value)}, ${c.to}, ${c.to} + ${c.size});`);
            else w.line(`f32.copyWithin(${c.to}, ${from}, ${from} + ${c.size});`);
          }
        }
      });
    }
    for (const t of tables) w.line(t);
    w.line();
    optimizer(w, g);
    modelObject(w, g, memory.get(evalProgram)!, memory.get(trainProgram)!, dropout, threads);
  });
  w.line();
  w.comment(`---- runtime: the nnc ${VERSION} kernels this model uses, included verbatim ----`);
  w.line();
  const body = w.toString();
  return body + runtimeSource(body);
}

function describe(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  const name = n.name ?? (id >= g.forwardCount ? `backward ${n.op}` : n.op);
  return `${name} [${g.shapes[id]!.join(", ")}]`;
}
