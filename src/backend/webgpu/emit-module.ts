// `nnc compile --target webgpu`: one self-contained TypeScript module per
// model, rendered from the lowered plan (src/lower), with its WGSL kernels as
// strings at the end. createModel makes every buffer, pipeline
// (createComputePipelineAsync) and bind group; a step only writes the batch
// into its buffers, records dispatches and submits. Host memory (one
// ArrayBuffer) holds what is read back: params and optimizer state for
// checkpoints, gradients, outputs, losses.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { GradGraph } from "../../ir/graph.ts";
import { lower, type Lowered } from "../../lower/lower.ts";
import { placeName } from "../../lower/places.ts";
import { VERSION } from "../../version.ts";
import { key } from "../api-types.ts";
import { commentText } from "../comment.ts";
import { constantValue, describeValue, initParamCall, maxSizeText, persistentLabel, PROGRAM_FUNCTIONS, shapeSizeText, sizeText, sourceComment, sourceLocation } from "../common.ts";
import { runtimeSource } from "../cpu/runtime-source.ts";
import { Writer } from "../writer.ts";
import { api, header, LOSS_LOG } from "./emit-api.ts";
import { hostMemory, loaders, modelObject, optimizer, readback } from "./emit-methods.ts";
import { HYPER_FIELDS, METHODS, optimizerShader, STATE } from "./optim.ts";
import { planWebgpu, type WebgpuPlan } from "./plan.ts";
import { THREADS_PER_GROUP, TILE } from "./shader.ts";

/** A string as a TypeScript template literal's contents. */
const template = (s: string) => s.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");

export interface WebgpuModule {
  /** The TypeScript module. */
  readonly code: string;
  /** Every shader of the module, in order, for reading and golden files. */
  readonly wgsl: string;
  readonly plan: WebgpuPlan;
}

/** The host-side WebGPU helpers, verbatim, without imports and `export`. */
function webgpuRuntime(): string {
  const text = readFileSync(join(import.meta.dirname, "runtime.ts"), "utf8").replace(/\r\n/g, "\n");
  return text.replace(/^\/\/\/ <reference[^\n]*\n/, "").replace(/^export /gm, "");
}


export function emitWebgpuModule(g: GradGraph, lowered: Lowered = lower(g), plan: WebgpuPlan = planWebgpu(g, lowered)): WebgpuModule {
  const w = new Writer();
  header(w, g, commentText(basename(g.file.path)));
  api(w, g, lowered.dropout);
  w.block("export async function createModel(options: CreateOptions): Promise<Model> {", () => {
    for (const d of g.dims) w.line(`const dim_${d.name} = dimension(options.dims, "${d.name}", ${d.default ?? "undefined"});`);
    w.line(`const dims = { ${g.dims.map((d) => `${key(d.name)}: dim_${d.name}`).join(", ")} };`);
    w.line("let seed = (options.seed ?? 1) >>> 0;");
    w.line("const device = options.device ?? (await requestDevice());");
    w.line('device.pushErrorScope("validation");');
    w.line();
    buffers(w, g, lowered);
    hostMemory(w, g);
    w.line();
    pipelines(w, g, plan);
    initParams(w, g);
    w.line("const runData = new Uint32Array(2);");
    w.line(`const hyperData = new Float32Array(${HYPER_FIELDS.length});`);
    w.line("let step = 0;");
    w.line("let lossesRead = 0;");
    w.line();
    loaders(w, g);
    programs(w, g, plan);
    optimizer(w, g);
    readback(w);
    modelObject(w, g, lowered);
  });
  w.line();
  const body = w.toString();
  const out = new Writer();
  out.comment(`---- runtime: the nnc ${VERSION} support this module uses, included verbatim ----`);
  const runtime = webgpuRuntime();
  const cpuSupport = runtimeSource(body + runtime);
  const shaders = new Writer();
  shaders.comment("---- WGSL kernels: one per distinct step; the comment at the top of each names its source line ----");
  plan.shaders.forEach((s, i) => shaders.line(`const SHADER_${i} = /* wgsl */ \`${template(s.wgsl)}\`;`).line());
  for (const m of METHODS) shaders.line(`const OPTIMIZER_${m.toUpperCase()} = /* wgsl */ \`${template(optimizerShader(m))}\`;`).line();
  const code = body + out.toString() + "\n" + cpuSupport + "\n// runtime/webgpu.ts\n" + runtime + "\n" + shaders.toString();
  const wgsl = [...plan.shaders.map((s) => s.wgsl), ...METHODS.map(optimizerShader)].map((s, i) => `// ==== shader ${i} ====\n${s}`).join("\n");
  return { code, wgsl, plan };
}

/** One GPU buffer per persistent value and per shared temporary, the uniforms, constants written once. */
function buffers(w: Writer, g: GradGraph, lowered: Lowered): void {
  w.comment("GPU memory: one buffer per persistent value, and temporaries shared by the programs (planned by liveness).");
  for (const p of lowered.persistent) w.line(`const ${placeName(p.place)} = storageBuffer(device, ${JSON.stringify(persistentLabel(g, p))}, 4 * (${sizeText(p.size)}), dims);`);
  for (const t of lowered.temps) {
    const name = placeName(t.place);
    const what = [...new Set(t.values.map((v) => describeValue(g, v)))].join(", ");
    w.line(`const ${name} = storageBuffer(device, ${JSON.stringify(`temporary ${name}: ${what}`)}, 4 * ${t.sizes.length === 1 ? `(${sizeText(t.sizes[0]!)})` : maxSizeText(t.sizes)}, dims);`);
  }
  w.line(`const run = uniformBuffer(device, "run: seed and step, for dropout", 8);`);
  w.line(`const hyper = uniformBuffer(device, "hyper: optimizer settings", ${4 * HYPER_FIELDS.length});`);
  w.line(`const lossLog = storageBuffer(device, "losses of the last ${LOSS_LOG} steps", ${4 * LOSS_LOG}, dims);`);
  for (const p of lowered.persistent) {
    if (p.place.kind === "const") w.line(`device.queue.writeBuffer(${placeName(p.place)}, 0, new Float32Array([${constantValue(g, p.node)}]));`);
  }
  for (const c of lowered.gradientCopies) {
    if (lowered.train.place.get(c.from) !== undefined) continue;
    w.comment("A gradient that is a constant: written once.");
    w.line(`device.queue.writeBuffer(${placeName(c.to)}, 0, new Float32Array(${sizeText(c.size)}).fill(${constantValue(g, c.from)}));`);
  }
  w.line();
}

/** Pipelines (compiled in parallel), then the bind groups and workgroup grids every step uses, made once. */
function pipelines(w: Writer, g: GradGraph, plan: WebgpuPlan): void {
  w.comment("Pipelines: one per distinct shader, compiled in parallel; dims are pipeline constants.");
  w.block("const [", () => {
    plan.shaders.forEach((_, i) => w.line(`k${i},`));
    for (const m of METHODS) w.line(`o_${m},`);
  }, "] = await Promise.all([");
  w.indent(() => {
    for (const [i, { first: k }] of plan.shaders.entries()) {
      const constants = k.dims.length === 0 ? "{}" : `{ ${k.dims.map((d) => `dim_${d}`).join(", ")} }`;
      w.line(`computePipeline(device, ${JSON.stringify(`${sourceLocation(g, k.node)} ${commentText(k.what)}`)}, SHADER_${i}, ${constants}),`);
    }
    for (const m of METHODS) w.line(`computePipeline(device, "optimizer ${m}", OPTIMIZER_${m.toUpperCase()}, {}),`);
  });
  w.line("]);");
  w.line();
  w.comment("Bind groups (one per pipeline and buffers) and workgroup grids of every step, made once.");
  plan.bindGroups.forEach((b, i) => w.line(`const bg${i} = bindGroup(device, k${b.shader}, [${b.buffers.join(", ")}]);`));
  for (const [p, kernels] of plan.kernels) {
    kernels.forEach(({ kernel: k }, si) => {
      const label = JSON.stringify(`the kernel of ${sourceLocation(g, k.node)} (${commentText(k.what)})`);
      const d = k.dispatch;
      if (d.kind === "tiles") w.line(`const grid_${"abcd"[p.index]}${si} = tiles(device, ${label}, ${d.rows}, ${d.cols}, ${d.batch}, ${TILE});`);
      else w.line(`const grid_${"abcd"[p.index]}${si} = workgroups(device, ${label}, ${d.count}, ${d.kind === "threads" ? THREADS_PER_GROUP : 1});`);
    });
  }
  // Running statistics have no optimizer step (a training step copies their new values), so no bind groups.
  const stats = new Set((g.runningStats ?? []).map((r) => r.name));
  g.params.forEach((p, k) => {
    if (stats.has(p.name)) return;
    for (const m of METHODS) w.line(`const bg_${m}${k} = bindGroup(device, o_${m}, [hyper, p${k}, g${k}${STATE[m].map((s) => `, ${s}${k}`).join("")}]);`);
    w.line(`const grid_opt${k} = workgroups(device, "the optimizer of ${p.name.replace(/[^A-Za-z0-9_.]/g, "?")}", ${shapeSizeText(g.shapes[p.node]!)}, ${THREADS_PER_GROUP});`);
  });
  w.line();
}

function initParams(w: Writer, g: GradGraph): void {
  w.comment("Params, drawn on the host from the counter-based RNG (the same values as the CPU module and the interpreter), then uploaded.");
  g.params.forEach((p, k) => {
    w.line(initParamCall(g, k, "f32", `hp${k}`));
    w.line(`device.queue.writeBuffer(p${k}, 0, f32, hp${k}, ${shapeSizeText(g.shapes[p.node]!)});`);
  });
  w.line("const validation = await device.popErrorScope();");
  w.line("if (validation !== null) throw new Error(`createModel: WebGPU rejected the model: ${validation.message}`);");
  w.line();
}

/** One function per program, recording its dispatches into a pass; and setRun, the dropout uniform. */
function programs(w: Writer, g: GradGraph, plan: WebgpuPlan): void {
  for (const [p, kernels] of plan.kernels) {
    w.block(`function ${PROGRAM_FUNCTIONS[p.kind]}(pass: GPUComputePassEncoder): void {`, () => {
      let last = "";
      kernels.forEach(({ kernel: k, shader, bindGroup }, si) => {
        const comment = sourceComment(g, k.node);
        if (comment !== last) w.comment(comment);
        last = comment;
        w.line(`dispatch(pass, k${shader}, bg${bindGroup}, grid_${"abcd"[p.index]}${si}); // ${commentText(k.what)}`);
      });
    });
  }
  w.block("function setRun(): void {", () => {
    w.comment("Dropout masks follow (seed, step), as on the CPU.");
    w.line("runData[0] = seed;");
    w.line("runData[1] = step;");
    w.line("device.queue.writeBuffer(run, 0, runData);");
  });
  w.line();
}
