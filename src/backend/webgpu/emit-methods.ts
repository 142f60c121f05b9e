// The methods of an emitted WebGPU module: training options into the
// optimizer's uniform, reading back through one staging buffer, and the
// model object whose methods submit the programs and read what they return.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Writer } from "../writer.ts";
import type { Lowered, Program } from "../../lower/lower.ts";
import { placeName } from "../../lower/places.ts";
import { dimExpr, shapeSizeText, sizeText } from "../common.ts";
import { LOSS_LOG } from "./emit-api.ts";
import { METHODS } from "./optim.ts";
import { bufferOf } from "./plan.ts";
import { key } from "../api-types.ts";
import { commentText } from "../comment.ts";


const at = (obj: string, name: string) => `${obj}[${JSON.stringify(name)}]`;
const shapeText = (g: GradGraph, id: NodeId) => `[${g.shapes[id]!.join(", ")}]`;

export function optimizer(w: Writer, g: GradGraph): void {
  w.comment("Resolves the options by the runtime's one option table, fills the Hyper uniform's values and returns the shader to run.");
  w.line("const optimizerOptions = newOptimizerSettings();");
  w.block(`function settings(o: TrainOptions | undefined): OptimizerShader {`, () => {
    w.line("return optimizerHyper(optimizerSettings(o, TRAIN_DEFAULTS, optimizerOptions), step + 1, hyperData);");
  });
  // Running statistics are not trained: a step copies their new values instead (statCopiesCode).
  const stats = new Set((g.runningStats ?? []).map((r) => r.name));
  w.block(`function update(pass: GPUComputePassEncoder, method: ReturnType<typeof settings>): void {`, () => {
    w.block("switch (method) {", () => {
      for (const m of METHODS) {
        w.block(`case "${m}": {`, () => {
          g.params.forEach((p, k) => {
            if (!stats.has(p.name)) w.line(`dispatch(pass, o_${m}, bg_${m}${k}, grid_opt${k});`);
          });
          w.line("return;");
        });
      }
    });
  });
  w.line();
}

/** Reading back: one call at a time, so that the staging buffer is never mapped twice. */
export function readback(w: Writer): void {
  w.line("type Copy = readonly [buffer: GPUBuffer, hostFloat: number, floats: number];");
  w.line("let reading = \"\";");
  w.block("function begin(what: string): void {", () => {
    w.line("if (reading !== \"\") throw new Error(`${what}: ${reading} has not finished; await it first`);");
  });
  w.comment("Copies GPU buffers into the staging buffer at their host offsets, maps the range and copies it into host memory.");
  w.block("async function finish(what: string, copies: readonly Copy[], from: number, to: number): Promise<void> {", () => {
    w.line("reading = what;");
    w.block("try {", () => {
      w.line("const encoder = device.createCommandEncoder();");
      w.line("for (const [buffer, hostFloat, floats] of copies) encoder.copyBufferToBuffer(buffer, 0, readback, 4 * hostFloat, 4 * floats);");
      w.line("device.queue.submit([encoder.finish()]);");
      w.line("await readback.mapAsync(MAP_MODE.READ, 4 * from, 4 * (to - from));");
      w.line("new Uint8Array(host, 4 * from, 4 * (to - from)).set(new Uint8Array(readback.getMappedRange(4 * from, 4 * (to - from))));");
      w.line("readback.unmap();");
    }, "} finally {");
    w.indent(() => w.line('reading = "";'));
    w.line("}");
  });
  w.line();
}

export function modelObject(w: Writer, g: GradGraph, plan: Lowered): void {
  const { forward: infer, forwardTraining: inferTraining, loss: evalP, train } = plan;
  const loss = g.loss!.node;
  const size = (id: NodeId) => shapeSizeText(g.shapes[id]!);
  const view = (id: NodeId, off: string) => `${g.dtypes[id] === "i32" ? "i32" : "f32"}.subarray(${off}, ${off} + ${size(id)})`;
  const tensors = [
    ...g.params.map((p, k) => ({ name: `param/${p.name}`, off: `hp${k}`, buf: `p${k}`, node: p.node })),
    ...g.params.flatMap((p, k) => [
      { name: `state/${p.name}/1`, off: `hm${k}`, buf: `m${k}`, node: p.node },
      { name: `state/${p.name}/2`, off: `hv${k}`, buf: `v${k}`, node: p.node },
    ]),
  ];
  const copies = (list: { buf: string; off: string; node: NodeId }[]) => `[${list.map((c) => `[${c.buf}, ${c.off}, ${size(c.node)}]`).join(", ")}]`;
  w.comment("What each reading method copies: [GPU buffer, host offset, floats], made once.");
  w.line(`const paramCopies: Copy[] = ${copies(tensors.slice(0, g.params.length))};`);
  w.line(`const stateCopies: Copy[] = ${copies(tensors)};`);
  w.line(`const gradCopies: Copy[] = ${copies(g.params.map((p, k) => ({ buf: `g${k}`, off: `hg${k}`, node: p.node })))};`);
  const outs = (p: Program) => copies(g.outputs.map((o, k) => ({ buf: bufferOf(p, o.node), off: `ho${k}`, node: o.node })));
  w.line(`const outputCopies: Copy[] = ${outs(infer)};`);
  if (inferTraining !== infer) w.line(`const outputCopiesTraining: Copy[] = ${outs(inferTraining)};`);
  w.line(`const evalLossCopy: Copy[] = [[${bufferOf(evalP, loss)}, hs, 1]];`);
  w.line(`const trainLossCopy: Copy[] = [[${bufferOf(train, loss)}, hs, 1]];`);
  w.line(`const logCopy: Copy[] = [[lossLog, hl, ${LOSS_LOG}]];`);
  w.line(`const params: Params = { ${g.params.map((p, k) => `${key(p.name)}: ${view(p.node, `hp${k}`)}`).join(", ")} };`);
  w.line(`const grads: Params = { ${g.params.map((p, k) => `${key(p.name)}: ${view(p.node, `hg${k}`)}`).join(", ")} };`);
  w.line(`const outputs: Outputs = { ${g.outputs.map((o, k) => `${key(o.name)}: ${view(o.node, `ho${k}`)}`).join(", ")} };`);
  w.line(`const entries: TensorEntry[] = [${tensors.map((t) => `[${JSON.stringify(t.name)}, ${t.off}, [${g.shapes[t.node]!.map(dimExpr).join(", ")}]]`).join(", ")}];`);
  w.line();
  submitters(w, g, plan);
  w.block("return {", () => {
    w.line("spec,");
    w.line("dims,");
    w.line("device,");
    w.block("get step(): number {", () => w.line("return step;"), "},");
    runMethods(w, plan);
    w.block("async getParams(): Promise<Params> {", () => {
      w.line('begin("getParams");');
      w.line('await finish("getParams", paramCopies, 0, paramsEnd);');
      w.line(`return { ${g.params.map((p) => `${key(p.name)}: ${at("params", p.name)}.slice()`).join(", ")} };`);
    }, "},");
    w.block("setParams(values: Partial<Params>): void {", () => {
      g.params.forEach((p, k) => {
        w.line(`const v_${k} = ${at("values", p.name)};`);
        w.line(`if (v_${k} !== undefined) device.queue.writeBuffer(p${k}, 0, checked(v_${k}, ${JSON.stringify(p.name)}, Float32Array, ${size(p.node)}, ${JSON.stringify(shapeText(g, p.node))}, dims));`);
      });
    }, "},");
    w.block("loadParams(bytes: Uint8Array): void {", () => {
      w.line("const values = checkedSafetensorsParams(bytes, spec.params, dims);");
      // Already checked; checked() is what types the array as a buffer source, as in setParams.
      g.params.forEach((p, k) => w.line(`device.queue.writeBuffer(p${k}, 0, checked(${at("values", p.name)}, ${JSON.stringify(p.name)}, Float32Array, ${size(p.node)}, ${JSON.stringify(shapeText(g, p.node))}, dims));`));
    }, "},");
    w.block("async saveCheckpoint(): Promise<Uint8Array> {", () => {
      w.line('begin("saveCheckpoint");');
      w.line('await finish("saveCheckpoint", stateCopies, 0, stateEnd);');
      w.line("return writeCheckpoint(spec.model, dims, step, seed, f32, entries);");
    }, "},");
    w.block("loadCheckpoint(bytes: Uint8Array): void {", () => {
      w.line("[step, seed] = readCheckpoint(bytes, spec.model, f32, entries);");
      w.line("lossesRead = step;");
      w.line("for (const [buffer, hostFloat, floats] of stateCopies) device.queue.writeBuffer(buffer, 0, f32, hostFloat, floats);");
    }, "},");
    w.block("destroy(): void {", () => {
      const all = [...plan.persistent.map((p) => placeName(p.place)), ...plan.temps.map((t) => placeName(t.place)), "run", "hyper", "lossLog", "readback"];
      w.line(`for (const buffer of [${all.join(", ")}]) buffer.destroy();`);
    }, "},");
  }, "};");
}

/** Running statistics (batchnorm): their values after the step, computed by the training program, into their params. */
function statCopiesCode(w: Writer, plan: Lowered): void {
  for (const c of plan.statCopies) w.line(`encoder.copyBufferToBuffer(${bufferOf(plan.train, c.from)}, 0, ${placeName(c.to)}, 0, 4 * (${sizeText(c.size)}));`);
}

/** Gradients a backward step did not compute in place: copied into their buffers after the pass. */
function gradientCopiesCode(w: Writer, plan: Lowered): void {
  for (const c of plan.gradientCopies) {
    if (plan.train.place.get(c.from) === undefined) continue; // a constant, written at createModel
    w.line(`encoder.copyBufferToBuffer(${bufferOf(plan.train, c.from)}, 0, ${placeName(c.to)}, 0, 4 * (${sizeText(c.size)}));`);
  }
}

/**
 * The host's mirror: params, optimizer state, gradients, outputs and the
 * loss log in one ArrayBuffer, each region 256-byte aligned so that it can
 * be copied from the GPU and mapped on its own.
 */
export function hostMemory(w: Writer, g: GradGraph): void {
  w.comment("Host memory, for what is read back and for checkpoints; regions 256-byte aligned (64 floats).");
  w.line("let top = 0;");
  const region = (name: string, size: string, comment: string) => w.line(`const ${name} = top; top += Math.ceil((${size}) / 64) * 64; // ${commentText(comment)}`);
  g.params.forEach((p, k) => region(`hp${k}`, shapeSizeText(g.shapes[p.node]!), `param ${p.name}`));
  w.line("const paramsEnd = top;");
  g.params.forEach((p, k) => {
    region(`hm${k}`, shapeSizeText(g.shapes[p.node]!), `optimizer state 1 of ${p.name}`);
    region(`hv${k}`, shapeSizeText(g.shapes[p.node]!), `optimizer state 2 of ${p.name}`);
  });
  w.line("const stateEnd = top;");
  g.params.forEach((p, k) => region(`hg${k}`, shapeSizeText(g.shapes[p.node]!), `gradient of ${p.name}`));
  w.line("const gradsEnd = top;");
  g.outputs.forEach((o, k) => region(`ho${k}`, shapeSizeText(g.shapes[o.node]!), `output ${o.name}`));
  w.line("const outputsEnd = top;");
  region("hl", String(LOSS_LOG), "the loss log");
  region("hs", "1", "one loss");
  w.line("const host = new ArrayBuffer(4 * top);");
  w.line("const f32 = new Float32Array(host);");
  if (g.outputs.some((o) => g.dtypes[o.node] === "i32")) w.line("const i32 = new Int32Array(host);");
  w.line(`const readback = device.createBuffer({ label: "readback", size: 4 * top, usage: USAGE.MAP_READ | USAGE.COPY_DST });`);
}

export function loaders(w: Writer, g: GradGraph): void {
  const load = (d: (typeof g.inputs)[number], k: number, obj: string) => {
    const shape = g.shapes[d.node]!;
    const type = g.dtypes[d.node] === "i32" ? "Int32Array" : "Float32Array";
    w.line(`device.queue.writeBuffer(x${k}, 0, checked(${at(obj, d.name)}, ${JSON.stringify(d.name)}, ${type}, ${shapeSizeText(shape)}, ${JSON.stringify(`[${shape.join(", ")}]`)}, dims));`);
  };
  w.block("function loadInputs(inputs: Inputs): void {", () => g.inputs.forEach((d, k) => load(d, k, "inputs")));
  w.block("function loadTargets(batch: Batch): void {", () => g.targets.forEach((d, k) => load(d, g.inputs.length + k, "batch")));
  w.line();
}

/** The functions that record and submit a training step, or any program, on one encoder. */
function submitters(w: Writer, g: GradGraph, plan: Lowered): void {
  const loss = g.loss!.node;
  const train = plan.train;
  w.comment("One training step, submitted: forward and backward, gradients into place, the loss into the log, the update.");
  w.block("function submitTrainStep(batch: Batch, options: TrainOptions | undefined): void {", () => {
    w.line("const method = settings(options);");
    w.line("loadInputs(batch);");
    w.line("loadTargets(batch);");
    w.line("setRun();");
    w.line("device.queue.writeBuffer(hyper, 0, hyperData);");
    w.line("const encoder = device.createCommandEncoder();");
    w.line("const pass = encoder.beginComputePass();");
    w.line("runTrain(pass);");
    w.line("pass.end();");
    gradientCopiesCode(w, plan);
    statCopiesCode(w, plan);
    w.line(`encoder.copyBufferToBuffer(${bufferOf(train, loss)}, 0, lossLog, 4 * (step % ${LOSS_LOG}), 4);`);
    w.line("const updatePass = encoder.beginComputePass();");
    w.line("update(updatePass, method);");
    w.line("updatePass.end();");
    w.line("device.queue.submit([encoder.finish()]);");
    w.line("step++;");
  });
  w.block("function submit(program: (pass: GPUComputePassEncoder) => void): void {", () => {
    w.line("const encoder = device.createCommandEncoder();");
    w.line("const pass = encoder.beginComputePass();");
    w.line("program(pass);");
    w.line("pass.end();");
    w.line("device.queue.submit([encoder.finish()]);");
  });
  w.line();
}

/** The methods that run a program and read its result back. */
function runMethods(w: Writer, plan: Lowered): void {
  const { forward: infer, forwardTraining: inferTraining } = plan;
  w.block("async forward(inputs: Inputs, options?: { training?: boolean }): Promise<Outputs> {", () => {
    w.line('begin("forward");');
    w.line("loadInputs(inputs);");
    if (inferTraining !== infer) {
      w.block("if (options?.training === true) {", () => {
        w.line("setRun();");
        w.line("submit(runForwardTraining);");
        w.line('await finish("forward", outputCopiesTraining, gradsEnd, outputsEnd);');
        w.line("return outputs;");
      });
    } else w.line("void options; // no dropout: training mode computes the same");
    w.line("submit(runForward);");
    w.line('await finish("forward", outputCopies, gradsEnd, outputsEnd);');
    w.line("return outputs;");
  }, "},");
  w.block("async loss(batch: Batch): Promise<number> {", () => {
    w.line('begin("loss");');
    w.line("loadInputs(batch);");
    w.line("loadTargets(batch);");
    w.line("submit(runEval);");
    w.line('await finish("loss", evalLossCopy, hs, hs + 1);');
    w.line("return f32[hs]!;");
  }, "},");
  w.block("async gradients(batch: Batch): Promise<Params> {", () => {
    w.line('begin("gradients");');
    w.line("loadInputs(batch);");
    w.line("loadTargets(batch);");
    w.line("setRun();");
    w.line("const encoder = device.createCommandEncoder();");
    w.line("const pass = encoder.beginComputePass();");
    w.line("runTrain(pass);");
    w.line("pass.end();");
    gradientCopiesCode(w, plan);
    w.line("device.queue.submit([encoder.finish()]);");
    w.line('await finish("gradients", gradCopies, stateEnd, gradsEnd);');
    w.line("return grads;");
  }, "},");
  w.block("async trainStep(batch: Batch, options?: TrainOptions): Promise<number> {", () => {
    w.line('begin("trainStep");');
    w.line("submitTrainStep(batch, options);");
    w.line('await finish("trainStep", trainLossCopy, hs, hs + 1);');
    w.line("return f32[hs]!;");
  }, "},");
  w.block("enqueueTrainStep(batch: Batch, options?: TrainOptions): void {", () => {
    w.line("submitTrainStep(batch, options);");
  }, "},");
  w.block("async readLosses(): Promise<Float32Array> {", () => {
    w.line('begin("readLosses");');
    w.line(`const first = Math.max(lossesRead, step - ${LOSS_LOG});`);
    w.line("const count = step - first;");
    w.line("lossesRead = step;");
    w.line(`await finish("readLosses", logCopy, hl, hl + ${LOSS_LOG});`);
    w.line("const losses = new Float32Array(count);");
    w.line(`for (let s = 0; s < count; s++) losses[s] = f32[hl + ((first + s) % ${LOSS_LOG})]!;`);
    w.line("return losses;");
  }, "},");
}
