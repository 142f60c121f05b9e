// `nnc compile --target webgpu`: one self-contained TypeScript module per
// model, with its WGSL kernels as strings at the end. createModel makes every
// buffer, pipeline (createComputePipelineAsync) and bind group; a step only
// writes the batch into its buffers, records dispatches and submits. Host
// memory (one ArrayBuffer) holds what is read back: params and optimizer
// state for checkpoints, gradients, outputs, losses.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { Writer } from "../writer.ts";
import { dimExpr, num } from "../cpu/emit-steps.ts";
import { sizeExpr } from "../cpu/memory.ts";
import { runtimeSource } from "../cpu/runtime-source.ts";
import type { Program } from "../cpu/schedule.ts";
import { VERSION } from "../../version.ts";
import type { Init } from "../../ops/types.ts";
import { initParamCall } from "../param-init.ts";
import { api, header, LOSS_LOG } from "./emit-api.ts";
import { stepComment, THREADS_PER_GROUP, TILE, type Kernel } from "./kernels.ts";
import { METHODS, optimizerShader, STATE, HYPER_FIELDS } from "./optim.ts";
import { modelObject, optimizer, readback } from "./emit-methods.ts";
import { planWebgpu, type WebgpuPlan } from "./plan.ts";
import { key } from "../api-types.ts";

const at = (obj: string, name: string) => `${obj}[${JSON.stringify(name)}]`;
const shapeText = (g: GradGraph, id: NodeId) => `[${g.shapes[id]!.join(", ")}]`;
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

function programName(plan: WebgpuPlan, p: Program): string {
  const m = plan.module;
  return p === m.trainProgram ? "runTrain" : p === m.evalProgram ? "runEval" : p.training ? "runForwardTraining" : "runForward";
}

export function emitWebgpuModule(g: GradGraph): WebgpuModule {
  const src = basename(g.file.path);
  const plan = planWebgpu(g);
  const { dropout, programs, inferProgram, inferTrainingProgram, evalProgram, trainProgram, persistent, constants, gradientCopies } = plan.module;
  const w = new Writer();
  header(w, g, src);
  api(w, g, dropout);
  w.block("export async function createModel(options: CreateOptions): Promise<Model> {", () => {
    for (const d of g.dims) w.line(`const dim_${d.name} = dimension(options.dims, "${d.name}", ${d.default ?? "undefined"});`);
    w.line(`const dims = { ${g.dims.map((d) => `${key(d.name)}: dim_${d.name}`).join(", ")} };`);
    w.line("let seed = (options.seed ?? 1) >>> 0;");
    w.line("const device = options.device ?? (await requestDevice());");
    w.line('device.pushErrorScope("validation");');
    w.line();
    w.comment("GPU memory: one buffer per persistent value, and temporaries shared by the programs (planned by liveness).");
    for (const p of persistent) w.line(`const ${p.name} = storageBuffer(device, ${JSON.stringify(p.comment)}, 4 * (${p.size}), dims);`);
    for (const t of plan.temps) {
      const what = [...new Set(t.values.map((v) => describe(g, v)))].join(", ");
      w.line(`const ${t.name} = storageBuffer(device, ${JSON.stringify(`temporary ${t.name}: ${what}`)}, 4 * ${t.sizes.length === 1 ? `(${t.sizes[0]})` : `Math.max(${t.sizes.join(", ")})`}, dims);`);
    }
    w.line(`const run = uniformBuffer(device, "run: seed and step, for dropout", 8);`);
    w.line(`const hyper = uniformBuffer(device, "hyper: optimizer settings", ${4 * HYPER_FIELDS.length});`);
    w.line(`const lossLog = storageBuffer(device, "losses of the last ${LOSS_LOG} steps", ${4 * LOSS_LOG}, dims);`);
    for (const c of constants) {
      const n = g.nodes[c.node]!;
      w.line(`device.queue.writeBuffer(${c.name}, 0, new Float32Array([${n.op === "const" ? num((n.attrs as { value: number }).value) : dimExpr((n.attrs as { dim: string }).dim)}]));`);
    }
    const trainMem = plan.module.memory.get(trainProgram)!;
    for (const c of gradientCopies) {
      if (trainMem.place.get(c.from) === undefined) {
        w.comment("A gradient that is a constant: written once.");
        w.line(`device.queue.writeBuffer(${c.to}, 0, new Float32Array(${c.size}).fill(${num((g.nodes[c.from]!.attrs as { value: number }).value)}));`);
      }
    }
    w.line();
    hostMemory(w, g);
    w.line();
    w.comment("Pipelines: one per distinct shader, compiled in parallel; dims are pipeline constants.");
    const pipelineConstants = (k: Kernel) => (k.dims.length === 0 ? "{}" : `{ ${k.dims.map((d) => `dim_${d}`).join(", ")} }`);
    const firstUse = plan.shaders.map((s) => [...plan.kernels.values()].flat().find((k) => k.wgsl === s)!);
    w.block("const [", () => {
      firstUse.forEach((_, i) => w.line(`k${i},`));
      for (const m of METHODS) w.line(`o_${m},`);
    }, "] = await Promise.all([");
    w.indent(() => {
      firstUse.forEach((k, i) => w.line(`computePipeline(device, ${JSON.stringify(`${stepComment(g, k.node).split("  ")[0]} ${k.what}`)}, SHADER_${i}, ${pipelineConstants(k)}),`));
      for (const m of METHODS) w.line(`computePipeline(device, "optimizer ${m}", OPTIMIZER_${m.toUpperCase()}, {}),`);
    });
    w.line("]);");
    w.line();
    w.comment("Bind groups and workgroup grids of every step, made once.");
    programs.forEach((p, pi) => {
      plan.kernels.get(p)!.forEach((k, si) => {
        const id = `${"abcd"[pi]}${si}`;
        w.line(`const bg_${id} = bindGroup(device, k${plan.shaders.indexOf(k.wgsl)}, [${k.bindings.map((b) => b.buffer).join(", ")}]);`);
        const label = JSON.stringify(`the kernel of ${stepComment(g, k.node).split("  ")[0]} (${k.what})`);
        const d = k.dispatch;
        if (d.kind === "tiles") w.line(`const grid_${id} = tiles(device, ${label}, ${d.rows}, ${d.cols}, ${d.batch}, ${TILE});`);
        else w.line(`const grid_${id} = workgroups(device, ${label}, ${d.count}, ${d.kind === "threads" ? THREADS_PER_GROUP : 1});`);
      });
    });
    g.params.forEach((p, k) => {
      for (const m of METHODS) w.line(`const bg_${m}${k} = bindGroup(device, o_${m}, [hyper, p${k}, g${k}${STATE[m].map((s) => `, ${s}${k}`).join("")}]);`);
      w.line(`const grid_opt${k} = workgroups(device, "the optimizer of ${p.name.replace(/[^A-Za-z0-9_]/g, "?")}", ${sizeExpr(g.shapes[p.node]!)}, ${THREADS_PER_GROUP});`);
    });
    w.line();
    w.comment("Params, drawn on the host from the counter-based RNG (the same values as the CPU module and the interpreter), then uploaded.");
    g.params.forEach((p, k) => {
      const init = (g.nodes[p.node]!.attrs as { init: Init }).init;
      w.line(`${initParamCall(init, k, g.shapes[p.node]!.map(dimExpr), "f32", `hp${k}`, num)} // ${p.name} = ${init.kind}`);
      w.line(`device.queue.writeBuffer(p${k}, 0, f32, hp${k}, ${sizeExpr(g.shapes[p.node]!)});`);
    });
    w.line("const validation = await device.popErrorScope();");
    w.line("if (validation !== null) throw new Error(`createModel: WebGPU rejected the model: ${validation.message}`);");
    w.line();
    w.line("const runData = new Uint32Array(2);");
    w.line(`const hyperData = new Float32Array(${HYPER_FIELDS.length});`);
    w.line("let step = 0;");
    w.line("let lossesRead = 0;");
    w.line();
    loaders(w, g);
    for (const p of programs) {
      w.block(`function ${programName(plan, p)}(pass: GPUComputePassEncoder): void {`, () => {
        let last = "";
        plan.kernels.get(p)!.forEach((k, si) => {
          const comment = stepComment(g, k.node);
          if (comment !== last) w.comment(comment);
          last = comment;
          const id = `${"abcd"[programs.indexOf(p)]}${si}`;
          w.line(`dispatch(pass, k${plan.shaders.indexOf(k.wgsl)}, bg_${id}, grid_${id}); // ${k.what}`);
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
    optimizer(w, g);
    readback(w);
    modelObject(w, g, plan, inferProgram, inferTrainingProgram, evalProgram, trainProgram);
  });
  w.line();
  const body = w.toString();
  const out = new Writer();
  out.comment(`---- runtime: the nnc ${VERSION} support this module uses, included verbatim ----`);
  const runtime = webgpuRuntime();
  const cpuSupport = runtimeSource(body + runtime);
  const shaders = new Writer();
  shaders.comment("---- WGSL kernels: one per distinct step; the comment at the top of each names its source line ----");
  plan.shaders.forEach((s, i) => shaders.line(`const SHADER_${i} = /* wgsl */ \`${template(s)}\`;`).line());
  for (const m of METHODS) shaders.line(`const OPTIMIZER_${m.toUpperCase()} = /* wgsl */ \`${template(optimizerShader(m))}\`;`).line();
  const code = body + out.toString() + "\n" + cpuSupport + "\n// runtime/webgpu.ts\n" + runtime + "\n" + shaders.toString();
  const wgsl = [...plan.shaders, ...METHODS.map(optimizerShader)].map((s, i) => `// ==== shader ${i} ====\n${s}`).join("\n");
  return { code, wgsl, plan };
}

function describe(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  const name = n.name ?? (id >= g.forwardCount ? `backward ${n.op}` : n.op);
  return `${name.replace(/[^\x20-\x7e]/g, "?")} ${shapeText(g, id)}`;
}

/**
 * The host's mirror: params, optimizer state, gradients, outputs and the
 * loss log in one ArrayBuffer, each region 256-byte aligned so that it can
 * be copied from the GPU and mapped on its own.
 */
function hostMemory(w: Writer, g: GradGraph): void {
  w.comment("Host memory, for what is read back and for checkpoints; regions 256-byte aligned (64 floats).");
  w.line("let top = 0;");
  const region = (name: string, size: string, comment: string) => w.line(`const ${name} = top; top += Math.ceil((${size}) / 64) * 64; // ${comment}`);
  g.params.forEach((p, k) => region(`hp${k}`, sizeExpr(g.shapes[p.node]!), `param ${p.name}`));
  w.line("const paramsEnd = top;");
  g.params.forEach((p, k) => {
    region(`hm${k}`, sizeExpr(g.shapes[p.node]!), `optimizer state 1 of ${p.name}`);
    region(`hv${k}`, sizeExpr(g.shapes[p.node]!), `optimizer state 2 of ${p.name}`);
  });
  w.line("const stateEnd = top;");
  g.params.forEach((p, k) => region(`hg${k}`, sizeExpr(g.shapes[p.node]!), `gradient of ${p.name}`));
  w.line("const gradsEnd = top;");
  g.outputs.forEach((o, k) => region(`ho${k}`, sizeExpr(g.shapes[o.node]!), `output ${o.name}`));
  w.line("const outputsEnd = top;");
  region("hl", String(LOSS_LOG), "the loss log");
  region("hs", "1", "one loss");
  w.line("const host = new ArrayBuffer(4 * top);");
  w.line("const f32 = new Float32Array(host);");
  if (g.outputs.some((o) => g.dtypes[o.node] === "i32")) w.line("const i32 = new Int32Array(host);");
  w.line(`const readback = device.createBuffer({ label: "readback", size: 4 * top, usage: USAGE_MAP_READ | USAGE_COPY_DST });`);
}

function loaders(w: Writer, g: GradGraph): void {
  const load = (d: (typeof g.inputs)[number], k: number, obj: string) => {
    const shape = g.shapes[d.node]!;
    const type = g.dtypes[d.node] === "i32" ? "Int32Array" : "Float32Array";
    w.line(`device.queue.writeBuffer(x${k}, 0, checked(${at(obj, d.name)}, ${JSON.stringify(d.name)}, ${type}, ${sizeExpr(shape)}, ${JSON.stringify(`[${shape.join(", ")}]`)}, dims));`);
  };
  w.block("function loadInputs(inputs: Inputs): void {", () => g.inputs.forEach((d, k) => load(d, k, "inputs")));
  w.block("function loadTargets(batch: Batch): void {", () => g.targets.forEach((d, k) => load(d, g.inputs.length + k, "batch")));
  w.line();
}
