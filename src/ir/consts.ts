// Compile-time values: constant numbers, initializers and the `train`
// statement. Each reports what it cannot read and returns undefined.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import { didYouMean } from "../diag/suggest.ts";
import type { Argument, Expr } from "../syntax/ast.ts";
import type { Init } from "../ops/types.ts";
import type { OptimizerName, TrainSpec } from "./graph.ts";
import type { Span } from "../diag/source.ts";
import { OPTIMIZERS } from "../backend/cpu/runtime/optim.ts";
import { methodOptions, NN_OPTION_NAME } from "../backend/train-options.ts";
import { checkScheduleNumber, checkStepOnly, isScheduleOption, readScheduleName, SCHEDULE_OPTIONS } from "./train-schedule.ts";
import type { ScheduleName } from "../train/schedule.ts";

/** Evaluates a constant expression: numbers, named consts and arithmetic on them. */
export function evalConst(e: Expr, consts: ReadonlyMap<string, number>, bag: DiagnosticBag, what: string): number | undefined {
  const fail = (): undefined => {
    bag.error("NNC214", e.span, `${what} must be a constant number`, {
      hint: "write a number, a `const`, or arithmetic on them",
    });
    return undefined;
  };
  const go = (x: Expr): number | undefined => {
    switch (x.kind) {
      case "number":
        return x.value;
      case "name":
        return consts.get(x.name);
      case "unary": {
        const v = go(x.operand);
        return v === undefined ? undefined : -v;
      }
      case "binary": {
        const a = go(x.left);
        const b = go(x.right);
        if (a === undefined || b === undefined) return undefined;
        switch (x.op) {
          case "+":
            return a + b;
          case "-":
            return a - b;
          case "*":
            return a * b;
          case "/":
            return a / b;
          case "^":
            return a ** b;
          default:
            return undefined;
        }
      }
      default:
        return undefined;
    }
  };
  const v = go(e);
  if (v === undefined) return fail();
  if (!Number.isFinite(v)) {
    bag.error("NNC214", e.span, `${what} is not a finite number`);
    return undefined;
  }
  return v;
}

const INIT_ARGS: Record<string, readonly string[]> = {
  zeros: [],
  ones: [],
  xavier: [],
  he: [],
  uniform: ["low", "high"],
  normal: ["mean", "std"],
};

/** Reads `zeros`, `uniform(-0.1, 0.1)`, `normal(mean = 0, std = 0.01)`, ... */
export function readInit(e: Expr, consts: ReadonlyMap<string, number>, bag: DiagnosticBag): Init | undefined {
  const name = e.kind === "name" ? e.name : e.kind === "call" ? e.callee.text : undefined;
  const nameSpan = e.kind === "call" ? e.callee.span : e.span;
  if (name === undefined || !(name in INIT_ARGS) || Object.prototype.hasOwnProperty.call(Object.prototype, name)) {
    const hint = name === undefined ? undefined : didYouMean(name, Object.keys(INIT_ARGS));
    bag.error("NNC218", nameSpan, name === undefined ? "expected an initializer" : `unknown initializer \`${name}\``, {
      hint: hint ?? "initializers: zeros, ones, uniform(low, high), normal(mean, std), xavier, he",
    });
    return undefined;
  }
  const params = INIT_ARGS[name]!;
  const args = e.kind === "call" ? e.args : [];
  if (params.length > 0 && e.kind !== "call") {
    bag.error("NNC206", e.span, `\`${name}\` needs arguments: ${name}(${params.join(", ")})`);
    return undefined;
  }
  const values = bindArgs(name, params, args, e.span, bag);
  if (!values) return undefined;
  const nums: number[] = [];
  for (const p of params) {
    const v = evalConst(values.get(p)!, consts, bag, `\`${p}\``);
    if (v === undefined) return undefined;
    nums.push(v);
  }
  switch (name) {
    case "uniform":
      if (!(nums[0]! < nums[1]!)) {
        bag.error("NNC218", e.span, `uniform needs low < high, got ${nums[0]} and ${nums[1]}`);
        return undefined;
      }
      return { kind: "uniform", low: nums[0]!, high: nums[1]! };
    case "normal":
      if (!(nums[1]! >= 0)) {
        bag.error("NNC218", e.span, `normal needs std ≥ 0, got ${nums[1]}`);
        return undefined;
      }
      return { kind: "normal", mean: nums[0]!, std: nums[1]! };
    case "zeros":
    case "ones":
    case "xavier":
    case "he":
      return { kind: name };
    default:
      return undefined;
  }
}

/**
 * Binds positional and keyword arguments to parameter names; reports arity and
 * keyword errors. `definedAt`, for a `fn` or layer of the file, is where the
 * signature that the notes quote is written.
 */
export function bindArgs(
  fname: string,
  params: readonly string[],
  args: readonly Argument[],
  callSpan: Span,
  bag: DiagnosticBag,
  optional: ReadonlySet<string> = new Set(),
  definedAt?: Span,
): Map<string, Expr> | undefined {
  const bound = new Map<string, Expr>();
  let ok = true;
  let positional = 0;
  const signature = `${fname}(${params.map((p) => (optional.has(p) ? p + "?" : p)).join(", ")})`;
  for (const arg of args) {
    if (!arg.keyword) {
      if (positional >= params.length) {
        bag.error("NNC206", arg.span, `\`${fname}\` takes at most ${params.length} argument${params.length === 1 ? "" : "s"}`, {
          notes: [{ message: `the signature is ${signature}`, ...(definedAt ? { span: definedAt } : {}) }],
        });
        ok = false;
        break;
      }
      bound.set(params[positional++]!, arg.value);
      continue;
    }
    const key = arg.keyword.text;
    if (!params.includes(key)) {
      bag.error("NNC207", arg.keyword.span, `\`${fname}\` has no argument named \`${key}\``, {
        notes: [{ message: `the signature is ${signature}`, ...(definedAt ? { span: definedAt } : {}) }],
        ...(didYouMean(key, params) ? { hint: didYouMean(key, params)! } : {}),
      });
      ok = false;
    } else if (bound.has(key)) {
      bag.error("NNC207", arg.keyword.span, `\`${key}\` is given twice`);
      ok = false;
    } else bound.set(key, arg.value);
  }
  if (!ok) return undefined;
  const missing = params.filter((p) => !bound.has(p) && !optional.has(p));
  if (missing.length > 0) {
    bag.error("NNC206", callSpan, `\`${fname}\` is missing ${missing.map((m) => `\`${m}\``).join(" and ")}`, {
      notes: [{ message: `the signature is ${signature}`, ...(definedAt ? { span: definedAt } : {}) }],
    });
    return undefined;
  }
  return bound;
}

/** The options an optimizer takes besides the common ones, by their `.nn` names, from the runtime's table. */
const optimizerOptions = (m: OptimizerName) => methodOptions(m).map((k) => NN_OPTION_NAME[k]);
const COMMON_OPTIONS = ["lr", "batch", "epochs", "weight_decay", "seed"];
const INTEGER_OPTIONS = new Set(["batch", "epochs", "seed"]);

export function readTrain(
  optimizer: { text: string; span: Span },
  args: readonly Argument[],
  span: Span,
  consts: ReadonlyMap<string, number>,
  bag: DiagnosticBag,
): TrainSpec | undefined {
  const name = optimizer.text;
  if (!Object.prototype.hasOwnProperty.call(OPTIMIZERS, name)) {
    bag.error("NNC219", optimizer.span, `unknown optimizer \`${name}\``, {
      hint: didYouMean(name, Object.keys(OPTIMIZERS)) ?? `optimizers: ${Object.keys(OPTIMIZERS).join(", ")}`,
    });
    return undefined;
  }
  const opt = name as OptimizerName;
  // The schedule's options last: they are `nnc train`'s, not the optimizer's.
  const allowed = [...COMMON_OPTIONS, ...optimizerOptions(opt), ...SCHEDULE_OPTIONS];
  const options = new Map<string, number>();
  let schedule: ScheduleName | undefined;
  let ok = true;
  for (const arg of args) {
    if (!arg.keyword) {
      bag.error("NNC219", arg.span, "train options are given by name, e.g. `lr = 0.01`");
      ok = false;
      continue;
    }
    const key = arg.keyword.text;
    if (!allowed.includes(key)) {
      bag.error("NNC219", arg.keyword.span, `\`${name}\` has no option \`${key}\``, {
        hint: didYouMean(key, allowed) ?? `options: ${allowed.join(", ")}`,
      });
      ok = false;
      continue;
    }
    if (options.has(key)) {
      bag.error("NNC219", arg.keyword.span, `\`${key}\` is given twice`);
      ok = false;
      continue;
    }
    if (key === "schedule") {
      schedule = readScheduleName(arg, bag);
      ok &&= schedule !== undefined;
      options.set(key, 0); // marks it given; the name is TrainSpec.schedule
      continue;
    }
    const v = evalConst(arg.value, consts, bag, `\`${key}\``);
    if (v === undefined) {
      ok = false;
      continue;
    }
    if (isScheduleOption(key)) {
      if (checkScheduleNumber(key, v, arg, bag)) options.set(key, v);
      else ok = false;
      continue;
    }
    if (INTEGER_OPTIONS.has(key) ? !(Number.isInteger(v) && v >= (key === "seed" ? 0 : 1)) : !(v >= 0)) {
      bag.error("NNC219", arg.value.span, `\`${key}\` must be ${INTEGER_OPTIONS.has(key) ? "a positive whole number" : "a non-negative number"}, got ${v}`);
      ok = false;
      continue;
    }
    options.set(key, v);
  }
  ok = checkStepOnly(args, schedule, bag) && ok;
  options.delete("schedule");
  return ok ? { optimizer: opt, options, span, ...(schedule ? { schedule } : {}) } : undefined;
}
