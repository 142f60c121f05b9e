// Losses (scalar results) and metrics. "Rows" are all axes but the last:
// cross-entropy and hinge average over rows, mse and binary cross-entropy over
// every element; the penalties sum. Cross-entropy targets are distributions
// (rows ≥ 0 summing to 1) and hinge targets one-hot: the derivative rules
// rely on it, and the reference interpreter refuses other targets.
import { sameShape } from "./shape-rules.ts";
import { product, rowsOf } from "./cpu-util.ts";
import { strided, workgroupReduce } from "./wgsl-util.ts";
import { defineOp, type WgslRule, type CpuRule, type GradBuilder, type OpDef, type OpName, type Ref, type Vjp } from "./types.ts";

type PairLoss = "mse" | "cross_entropy" | "softmax_cross_entropy" | "binary_cross_entropy" | "hinge";
/** The ops of the shared kernels below: the pair losses, the internal sigmoid form, and accuracy against one-hot rows (src/ops/accuracy.ts). */
type PairKernel = PairLoss | "sigmoid_binary_cross_entropy" | "accuracy";
/** Runtime loss kernels: by rows × width (class losses) or by element count. */
const LOSS_KERNELS: Record<PairKernel, readonly [string, "rows" | "count"]> = {
  mse: ["mse", "count"],
  cross_entropy: ["crossEntropy", "rows"],
  softmax_cross_entropy: ["softmaxCrossEntropy", "rows"],
  binary_cross_entropy: ["binaryCrossEntropy", "count"],
  sigmoid_binary_cross_entropy: ["sigmoidBinaryCrossEntropy", "count"],
  hinge: ["hinge", "rows"],
  accuracy: ["accuracy", "rows"],
};

export function lossKernel<K extends OpName>(name: PairKernel): Extract<CpuRule<K>, { kernel: unknown }> {
  const [fn, layout] = LOSS_KERNELS[name];
  return {
    kernel: ({ args: [p, y], out }) => {
      const size = layout === "rows" ? `${rowsOf(p!).rows}, ${rowsOf(p!).width}` : p!.size;
      return [`${out.arr}[${out.off}] = ${fn}(${p!.arr}, ${p!.off}, ${y!.arr}, ${y!.off}, ${size});`];
    },
  };
}

/**
 * Each loss in WGSL: one workgroup; each invocation sums its share of the
 * elements (or of the rows, for the class losses) into `part`, then a tree
 * in workgroup memory, then invocation 0 writes the scalar. The per-element
 * terms are the CPU runtime's (src/backend/cpu/runtime/loss.ts).
 */
export function wgslLoss<K extends OpName>(name: PairKernel): Extract<WgslRule<K>, { kernel: unknown }> {
  return {
    kernel: ({ args: [p, y], out }) => {
      const P = p!.ref;
      const Y = y!.ref;
      const width = p!.shape.length === 0 ? "1" : p!.shape[p!.shape.length - 1]!;
      const rows = product(p!.shape.slice(0, -1));
      const elementwise = (term: string[], divide: string) => [
        "var part: f32 = 0.0;",
        ...strided("j", p!.size, [`let a: f32 = ${P}[j];`, `let b: f32 = ${Y}[j];`, ...term]),
        ...workgroupReduce("part", "total", "sum"),
        `if (lid == 0u) { ${out.ref}[0] = total / f32(${divide}); }`,
      ];
      /** The first argmax of a row of `arr` at `o` into `name`. */
      const firstMax = (arr: string, name: string) => [
        `var ${name}: u32 = 0u;`,
        `for (var j: u32 = 1u; j < ${width}; j = j + 1u) { if (${arr}[o + j] > ${arr}[o + ${name}]) { ${name} = j; } }`,
      ];
      const byRow = (term: string[]) => [
        "var part: f32 = 0.0;",
        ...strided("r", rows, [`let o: u32 = r * ${width};`, ...term]),
        ...workgroupReduce("part", "total", "sum"),
        `if (lid == 0u) { ${out.ref}[0] = total / f32(${rows}); }`,
      ];
      const bodies: Record<PairKernel, string[]> = {
        mse: elementwise(["part = part + (a - b) * (a - b);"], p!.size),
        // 0·log 0 = 0: a class with y = 0 adds nothing
        cross_entropy: elementwise(["if (b != 0.0) { part = part - b * log(a); }"], rows),
        binary_cross_entropy: elementwise(["part = part - (b * log(a) + (1.0 - b) * log(1.0 - a));"], p!.size),
        sigmoid_binary_cross_entropy: elementwise(["part = part + max(a, 0.0) - a * b + log(1.0 + exp(-abs(a)));"], p!.size),
        softmax_cross_entropy: byRow([
          "var m: f32 = -3.4028234663852886e38;",
          `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { m = max(m, ${P}[o + j]); }`,
          "var e: f32 = 0.0;",
          `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { e = e + exp(${P}[o + j] - m); }`,
          "let lse: f32 = m + log(e);",
          `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { part = part + ${Y}[o + j] * (lse - ${P}[o + j]); }`,
        ]),
        hinge: byRow([
          ...firstMax(Y, "label"),
          `let sl: f32 = ${P}[o + label];`,
          `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { if (j != label) { part = part + max(0.0, ${P}[o + j] - sl + 1.0); } }`,
        ]),
        accuracy: byRow([...firstMax(P, "guess"), ...firstMax(Y, "label"), "if (guess == label) { part = part + 1.0; }"]),
      };
      return { mode: "rows", count: "1", body: bodies[name] };
    },
  };
}


function pairLoss<K extends PairLoss>(name: K, doc: string, vjp: Vjp<K>): OpDef<K> {
  return defineOp<PairLoss>({
    name,
    kind: "loss",
    callName: name,
    tensors: ["p", "y"],
    attrs: {},
    vjp: vjp as Vjp<PairLoss>,
    cpu: lossKernel<PairLoss>(name),
    wgsl: wgslLoss<PairLoss>(name),
    shape: ([p, y], _attrs, ctx) => (sameShape(p!, y!, ctx, name) ? [] : undefined),
    doc,
  }) as unknown as OpDef<K>;
}

type Penalty = "sumsq" | "sumabs";
function penalty<K extends Penalty>(name: K, doc: string, vjp: Vjp<K>): OpDef<K> {
  return defineOp<Penalty>({
    name,
    kind: "loss",
    callName: name,
    tensors: ["x"],
    attrs: {},
    vjp: vjp as Vjp<Penalty>,
    cpu: { kernel: ({ args: [x], out }) => [`${out.arr}[${out.off}] = ${name}(${x!.arr}, ${x!.off}, ${x!.size});`] },
    wgsl: {
      kernel: ({ args: [x], out }) => ({
        mode: "rows",
        count: "1",
        body: [
          "var part: f32 = 0.0;",
          ...strided("j", x!.size, [name === "sumsq" ? `part = part + ${x!.ref}[j] * ${x!.ref}[j];` : `part = part + abs(${x!.ref}[j]);`]),
          ...workgroupReduce("part", "total", "sum"),
          `if (lid == 0u) { ${out.ref}[0] = total; }`,
        ],
      }),
    },
    shape: () => [],
    doc,
  }) as unknown as OpDef<K>;
}

/** The number of rows of a [..., C] tensor: every axis but the last. */
export function rows(b: GradBuilder, r: Ref): Ref {
  const s = b.shape(r);
  return b.count(s, s.map((_, i) => i).slice(0, -1));
}

export const lossOps = {
  // d mse(p, y) = (2g(p − y)/N, −2g(p − y)/N)
  mse: pairLoss("mse", "mean squared error: the mean of (p − y)² over all elements", ({ g, args: [p, y], b }) => {
    const dp = b.div(b.mul(b.mul(b.c(2), g), b.sub(p!, y!)), b.count(b.shape(p!)));
    return [dp, b.neg(dp)];
  }),
  // d cross_entropy(p, y) = (−g·y/(p·rows), −g·ln p/rows)
  cross_entropy: pairLoss("cross_entropy", "−Σ y·log p, averaged over rows; `p` are probabilities (fused with a softmax before it into the stable form)", ({ g, args: [p, y], b, needs }) => {
    const scale = b.div(g, rows(b, p!));
    return [needs[0] ? b.neg(b.mul(scale, b.div(y!, p!))) : null, needs[1] ? b.neg(b.mul(scale, b.op("log", [p!], {}))) : null];
  }),
  // d softmax_cross_entropy(z, y) = (g(softmax(z) − y)/rows, −g·log_softmax(z)/rows)
  softmax_cross_entropy: pairLoss("softmax_cross_entropy", "cross-entropy of softmax(p) and y from logits `p`, computed stably, averaged over rows", ({ g, args: [z, y], b, needs }) => {
    const scale = b.div(g, rows(b, z!));
    return [
      needs[0] ? b.mul(scale, b.sub(b.op("softmax", [z!], { axis: -1 }), y!)) : null,
      needs[1] ? b.neg(b.mul(scale, b.op("log_softmax", [z!], { axis: -1 }))) : null,
    ];
  }),
  // d bce(p, y) = (g(p − y)/(p(1 − p)N), g(ln(1 − p) − ln p)/N)
  binary_cross_entropy: pairLoss("binary_cross_entropy", "−(y·log p + (1 − y)·log(1 − p)), averaged over all elements; `p` are probabilities", ({ g, args: [p, y], b, needs }) => {
    const scale = b.div(g, b.count(b.shape(p!)));
    const oneMinusP = b.sub(b.c(1), p!);
    return [
      needs[0] ? b.mul(scale, b.div(b.sub(p!, y!), b.mul(p!, oneMinusP))) : null,
      needs[1] ? b.mul(scale, b.sub(b.op("log", [oneMinusP], {}), b.op("log", [p!], {}))) : null,
    ];
  }),
  // d hinge(s, y) = g(A − y·ΣA)/rows with A = [s − s_label + 1 > 0]·(1 − y); targets get no gradient
  hinge: pairLoss("hinge", "multiclass SVM loss on scores `p`: Σⱼ≠c max(0, pⱼ − p_c + 1) for the class c that the one-hot `y` marks, averaged over rows", ({ g, args: [s, y], b, needs }) => {
    const label = b.op("sum", [b.mul(s!, y!)], { axis: -1, keepdims: true });
    const active = b.mul(b.op("step", [b.add(b.sub(s!, label), b.c(1))], {}), b.sub(b.c(1), y!));
    const ds = b.sub(active, b.mul(y!, b.op("sum", [active], { axis: -1, keepdims: true })));
    return [b.mul(b.div(g, rows(b, s!)), ds), needs[1] ? "unsupported" : null];
  }),
  // d Σx² = 2g·x
  sumsq: penalty("sumsq", "Σ x², an L2 penalty", ({ g, args: [x], b }) => [b.mul(b.mul(b.c(2), g), x!)]),
  // d Σ|x| = g·sign(x)
  sumabs: penalty("sumabs", "Σ |x|, an L1 penalty", ({ g, args: [x], b }) => [b.mul(g, b.op("sign", [x!], {}))]),
};
