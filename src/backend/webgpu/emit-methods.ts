// The methods of an emitted WebGPU module: training options into the
// optimizer's uniform, reading back through one staging buffer, and the
// model object whose methods submit the programs and read what they return.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Writer } from "../writer.ts";
import { dimExpr } from "../cpu/emit-steps.ts";
import { sizeExpr } from "../cpu/memory.ts";
import type { Program } from "../cpu/schedule.ts";
import { LOSS_LOG } from "./emit-api.ts";
import { HYPER_FIELDS, METHODS } from "./optim.ts";
import type { WebgpuPlan } from "./plan.ts";
import { key } from "../api-types.ts";

const at = (obj: string, name: string) => `${obj}[${JSON.stringify(name)}]`;
const shapeText = (g: GradGraph, id: NodeId) => `[${g.shapes[id]!.join(", ")}]`;

export function optimizer(w: Writer, g: GradGraph): void {
  w.comment("Validates the options and fills the Hyper uniform's values; returns the method to run.");
  w.block(`function settings(o: TrainOptions | undefined): "${METHODS.join('" | "')}" {`, () => {
    w.line(`hyperData.fill(0);`);
    w.line(`hyperData[${HYPER_FIELDS.indexOf("lr")}] = option(o?.lr, TRAIN_DEFAULTS.lr, "lr");`);
    w.line(`hyperData[${HYPER_FIELDS.indexOf("wd")}] = option(o?.weightDecay, TRAIN_DEFAULTS.weightDecay, "weightDecay");`);
    w.line(`hyperData[${HYPER_FIELDS.indexOf("eps")}] = option(o?.eps, TRAIN_DEFAULTS.eps, "eps");`);
    w.block("switch (o?.optimizer ?? TRAIN_DEFAULTS.optimizer) {", () => {
      w.block(`case "sgd": {`, () => {
        w.line(`const mu = option(o?.momentum, TRAIN_DEFAULTS.momentum, "momentum");`);
        w.line(`hyperData[${HYPER_FIELDS.indexOf("mu")}] = mu;`);
        w.line(`return mu > 0 ? "momentum" : "sgd";`);
      });
      w.block(`case "momentum": {`, () => {
        w.line(`hyperData[${HYPER_FIELDS.indexOf("mu")}] = option(o?.momentum, TRAIN_DEFAULTS.momentum || 0.9, "momentum");`);
        w.line(`return "momentum";`);
      });
      w.block(`case "rmsprop": {`, () => {
        w.line(`hyperData[${HYPER_FIELDS.indexOf("rho")}] = option(o?.rho, TRAIN_DEFAULTS.rho, "rho");`);
        w.line(`return "rmsprop";`);
      });
      w.block(`case "adam": {`, () => {
        w.line(`const b1 = option(o?.beta1, TRAIN_DEFAULTS.beta1, "beta1");`);
        w.line(`const b2 = option(o?.beta2, TRAIN_DEFAULTS.beta2, "beta2");`);
        w.line(`hyperData[${HYPER_FIELDS.indexOf("beta1")}] = b1;`);
        w.line(`hyperData[${HYPER_FIELDS.indexOf("beta2")}] = b2;`);
        w.comment("Bias corrections 1 − βᵗ for this step (t counts from 1), in float64 on the host.");
        w.line(`hyperData[${HYPER_FIELDS.indexOf("c1")}] = 1 - Math.pow(b1, step + 1);`);
        w.line(`hyperData[${HYPER_FIELDS.indexOf("c2")}] = 1 - Math.pow(b2, step + 1);`);
        w.line(`return "adam";`);
      });
      w.line(`case "adagrad":`);
      w.line(`  return "adagrad";`);
      w.line("default:");
      w.line("  throw new Error(`unknown optimizer \"${String(o?.optimizer)}\"; use sgd, momentum, rmsprop, adam or adagrad`);");
    });
  });
  w.block(`function update(pass: GPUComputePassEncoder, method: ReturnType<typeof settings>): void {`, () => {
    w.block("switch (method) {", () => {
      for (const m of METHODS) {
        w.block(`case "${m}": {`, () => {
          g.params.forEach((_, k) => w.line(`dispatch(pass, o_${m}, bg_${m}${k}, grid_opt${k});`));
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
      w.line("await readback.mapAsync(MAP_MODE_READ, 4 * from, 4 * (to - from));");
      w.line("new Uint8Array(host, 4 * from, 4 * (to - from)).set(new Uint8Array(readback.getMappedRange(4 * from, 4 * (to - from))));");
      w.line("readback.unmap();");
    }, "} finally {");
    w.indent(() => w.line('reading = "";'));
    w.line("}");
  });
  w.line();
}

export function modelObject(w: Writer, g: GradGraph, plan: WebgpuPlan, infer: Program, inferTraining: Program, evalP: Program, train: Program): void {
  const loss = g.loss!.node;
  const size = (id: NodeId) => sizeExpr(g.shapes[id]!);
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
  const outs = (p: Program) => copies(g.outputs.map((o, k) => ({ buf: plan.bufferOf(p, o.node), off: `ho${k}`, node: o.node })));
  w.line(`const outputCopies: Copy[] = ${outs(infer)};`);
  if (inferTraining !== infer) w.line(`const outputCopiesTraining: Copy[] = ${outs(inferTraining)};`);
  w.line(`const evalLossCopy: Copy[] = [[${plan.bufferOf(evalP, loss)}, hs, 1]];`);
  w.line(`const trainLossCopy: Copy[] = [[${plan.bufferOf(train, loss)}, hs, 1]];`);
  w.line(`const logCopy: Copy[] = [[lossLog, hl, ${LOSS_LOG}]];`);
  w.line(`const params: Params = { ${g.params.map((p, k) => `${key(p.name)}: ${view(p.node, `hp${k}`)}`).join(", ")} };`);
  w.line(`const grads: Params = { ${g.params.map((p, k) => `${key(p.name)}: ${view(p.node, `hg${k}`)}`).join(", ")} };`);
  w.line(`const outputs: Outputs = { ${g.outputs.map((o, k) => `${key(o.name)}: ${view(o.node, `ho${k}`)}`).join(", ")} };`);
  w.line(`const entries: TensorEntry[] = [${tensors.map((t) => `[${JSON.stringify(t.name)}, ${t.off}, [${g.shapes[t.node]!.map(dimExpr).join(", ")}]]`).join(", ")}];`);
  w.line();
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
    w.line(`encoder.copyBufferToBuffer(${plan.bufferOf(train, loss)}, 0, lossLog, 4 * (step % ${LOSS_LOG}), 4);`);
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
  w.block("return {", () => {
    w.line("spec,");
    w.line("dims,");
    w.line("device,");
    w.block("get step(): number {", () => w.line("return step;"), "},");
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
      const all = [...plan.module.persistent.map((p) => p.name), ...plan.temps.map((t) => t.name), "run", "hyper", "lossLog", "readback"];
      w.line(`for (const buffer of [${all.join(", ")}]) buffer.destroy();`);
    }, "},");
  }, "};");
}

/** Gradients a backward step did not compute in place: copied into their buffers after the pass. */
function gradientCopiesCode(w: Writer, plan: WebgpuPlan): void {
  const m = plan.module.memory.get(plan.module.trainProgram)!;
  for (const c of plan.module.gradientCopies) {
    if (m.place.get(c.from) === undefined) continue; // a constant, written at createModel
    w.line(`encoder.copyBufferToBuffer(${plan.bufferOf(plan.module.trainProgram, c.from)}, 0, ${c.to}, 0, 4 * (${c.size}));`);
  }
}
