// A built-in call's non-tensor arguments (attributes) read and checked
// against their specs: numbers, whole numbers, axis lists, strings from a
// set, reshape sizes. Apart from ExprBuilder because none of it builds
// nodes: it only evaluates constants and reports what does not fit.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import { didYouMean } from "../diag/suggest.ts";
import type { AttrSpec, ReshapeDim } from "../ops/types.ts";
import type { Expr } from "../syntax/ast.ts";
import type { Symbol } from "./build-expr.ts";
import { evalConst } from "./consts.ts";

export class AttrReader {
  constructor(
    private readonly symbols: ReadonlyMap<string, Symbol>,
    private readonly consts: ReadonlyMap<string, number>,
    private readonly bag: DiagnosticBag,
  ) {}

  /** Reads one non-tensor argument according to its spec. */
  read(fname: string, name: string, spec: AttrSpec<unknown>, e: Expr): unknown {
    const what = `\`${name}\` of ${fname}`;
    switch (spec.kind) {
      case "number":
        return evalConst(e, this.consts, this.bag, what);
      case "int":
      case "int?": {
        if (name === "axis" && e.kind === "list") return this.axes(e, what);
        const v = evalConst(e, this.consts, this.bag, what);
        if (v === undefined) return undefined;
        if (!Number.isInteger(v)) {
          this.bag.error("NNC214", e.span, `${what} must be a whole number, got ${v}`);
          return undefined;
        }
        return v;
      }
      case "bool":
        if (e.kind === "name" && (e.name === "true" || e.name === "false")) return e.name === "true";
        this.bag.error("NNC214", e.span, `${what} must be \`true\` or \`false\``);
        return undefined;
      case "string": {
        if (e.kind !== "string") {
          this.bag.error("NNC214", e.span, `${what} must be a string${spec.oneOf ? ": " + spec.oneOf.map((s) => `"${s}"`).join(" or ") : ""}`);
          return undefined;
        }
        if (spec.oneOf && !spec.oneOf.includes(e.value)) {
          const hint = didYouMean(e.value, spec.oneOf, (s) => `"${s}"`);
          this.bag.error("NNC214", e.span, `${what} must be ${spec.oneOf.map((s) => `"${s}"`).join(" or ")}, not "${e.value}"`, hint ? { hint } : {});
          return undefined;
        }
        return e.value;
      }
      case "dims":
        return this.dims(e, what);
      case "ints": {
        if (e.kind !== "list") {
          this.bag.error("NNC214", e.span, `${what} must be a list of whole numbers, such as [0, 2, 1]`);
          return undefined;
        }
        const out: number[] = [];
        for (const item of e.items) {
          const v = this.listedInteger(item, what);
          if (v === undefined) return undefined;
          out.push(v);
        }
        return out;
      }
    }
  }

  /** A list of axes to reduce over (`axis = [1, 2]`): whole numbers, at least one, none twice. */
  private axes(e: Extract<Expr, { kind: "list" }>, what: string): number[] | undefined {
    if (e.items.length === 0) {
      this.bag.error("NNC227", e.span, `${what} is an empty list`, { hint: "leave `axis` out to reduce over every axis" });
      return undefined;
    }
    const out: number[] = [];
    for (const item of e.items) {
      const v = this.listedInteger(item, what);
      if (v === undefined) return undefined;
      if (out.includes(v)) {
        this.bag.error("NNC227", item.span, `axis ${v} is listed twice in ${what}`);
        return undefined;
      }
      out.push(v);
    }
    return out;
  }

  /** One item of a list of whole numbers (`ints` attributes, `axis` lists); undefined (reported) where it is not one. */
  private listedInteger(item: Expr, what: string): number | undefined {
    const v = evalConst(item, this.consts, this.bag, what);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v)) {
      this.bag.error("NNC214", item.span, `${what} must hold whole numbers, got ${v}`);
      return undefined;
    }
    return v;
  }

  private dims(e: Expr, what: string): ReshapeDim[] | undefined {
    if (e.kind !== "list") {
      this.bag.error("NNC214", e.span, `${what} must be a list of sizes, such as [batch, 28, 28, 1]`);
      return undefined;
    }
    const out: ReshapeDim[] = [];
    for (const item of e.items) {
      if (item.kind === "name" && this.symbols.get(item.name)?.kind === "dim") {
        out.push(item.name);
        continue;
      }
      if (item.kind === "name" && !this.consts.has(item.name)) {
        const hint = didYouMean(item.name, [...this.symbols].filter(([, s]) => s.kind === "dim").map(([k]) => k));
        this.bag.error("NNC203", item.span, `unknown dim \`${item.name}\``, hint ? { hint } : { hint: `declare it: dim ${item.name}` });
        return undefined;
      }
      const v = evalConst(item, this.consts, this.bag, "a size");
      if (v === undefined) return undefined;
      if (!(Number.isInteger(v) && (v >= 1 || v === -1))) {
        this.bag.error("NNC216", item.span, `a size must be a positive whole number or -1, got ${v}`);
        return undefined;
      }
      out.push(v);
    }
    return out;
  }
}
