// Shape-rule building blocks shared by op definitions: broadcasting, axes,
// equality of shapes, and the text forms used in messages.
import { isVar, type ArgInfo, type Dim, type IDim, type IShape, type ShapeCtx } from "./types.ts";

export function formatDim(d: IDim): string {
  return isVar(d) ? "_" : String(d);
}

export function formatShape(s: IShape): string {
  return `[${s.map(formatDim).join(", ")}]`;
}

/** A note pointing at where an argument's shape came from, if it was declared elsewhere. */
export function originNote(arg: ArgInfo, shape: IShape, ctx: ShapeCtx): { message: string; span: import("../diag/source.ts").Span }[] {
  if (!arg.origin || !arg.name) return [];
  const s = formatShape(shape.map((d) => ctx.resolve(d)));
  return [{ message: arg.origin.declared ? `\`${arg.name}\` is declared as ${s} here` : `\`${arg.name}\` is ${s}, defined here`, span: arg.origin.span }];
}

/** numpy broadcasting of two shapes; `_` unifies with the other side. */
export function broadcast(a: ArgInfo, b: ArgInfo, ctx: ShapeCtx): IShape | undefined {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: IDim[] = [];
  const mismatch = (x: Dim, y: Dim) =>
    ctx.error("NNC202", `cannot broadcast ${formatShape(a.shape.map(ctx.resolve))} with ${formatShape(b.shape.map(ctx.resolve))}: ${x} ≠ ${y}`, {
      notes: [...originNote(a, a.shape, ctx), ...originNote(b, b.shape, ctx)],
      hint: "sizes must be equal, or 1, in each position counting from the right",
    });
  for (let i = 0; i < rank; i++) {
    const ra: IDim = i < rank - a.shape.length ? 1 : a.shape[i - (rank - a.shape.length)]!;
    const rb: IDim = i < rank - b.shape.length ? 1 : b.shape[i - (rank - b.shape.length)]!;
    const da = ctx.resolve(ra);
    const db = ctx.resolve(rb);
    // A 1 broadcasts against anything, an unknown included (which stays unknown).
    if (da === 1 || db === 1 || (!isVar(da) && !isVar(db) && da === db)) {
      out.push(da === 1 ? db : da);
      continue;
    }
    // Unknowns are solved to the other side; a conflict with a solved `_` is reported by unify.
    if (!ctx.unify(ra, rb, mismatch)) return undefined;
    out.push(ctx.resolve(ra));
  }
  return out;
}

/** Requires two shapes to be equal (losses, metrics), solving `_` on the way. */
export function sameShape(a: ArgInfo, b: ArgInfo, ctx: ShapeCtx, what: string): IShape | undefined {
  const sa = a.shape;
  const sb = b.shape;
  const mismatch = () => {
    ctx.error("NNC221", `${what} needs two arguments of the same shape, got ${formatShape(sa.map(ctx.resolve))} and ${formatShape(sb.map(ctx.resolve))}`, {
      notes: [...originNote(a, a.shape, ctx), ...originNote(b, b.shape, ctx)],
    });
  };
  if (sa.length !== sb.length) {
    mismatch();
    return undefined;
  }
  // A conflict with an inferred `_` is reported by unify itself; others by mismatch.
  for (let i = 0; i < sa.length; i++) if (!ctx.unify(sa[i]!, sb[i]!, mismatch)) return undefined;
  return sa.map(ctx.resolve);
}

/** Normalises a possibly negative axis; reports NNC208 when out of range. */
export function normalizeAxis(axis: number, rank: number, ctx: ShapeCtx): number | undefined {
  const n = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || n < 0 || n >= rank) {
    ctx.error("NNC208", `axis ${axis} is out of range for a tensor of rank ${rank}`, {
      hint: rank === 0 ? "a scalar has no axes" : `valid axes are ${-rank} to ${rank - 1}`,
    });
    return undefined;
  }
  return n;
}

export function requireRank(arg: ArgInfo, rank: number, ctx: ShapeCtx, what: string, layout: string): boolean {
  if (arg.shape.length === rank) return true;
  ctx.error("NNC220", `${what} expects a rank-${rank} tensor ${layout}, got ${formatShape(arg.shape.map(ctx.resolve))}`, {
    span: arg.span,
    notes: originNote(arg, arg.shape, ctx),
  });
  return false;
}

/** A dimension that must be a known size (conv kernels, spatial sizes), or undefined after an error. */
export function concrete(d: IDim, ctx: ShapeCtx, what: string): number | undefined {
  const r = ctx.resolve(d);
  if (typeof r === "number") return r;
  ctx.error("NNC216", `${what} must be a known size, but it is ${formatDim(r)}`, {
    hint: isVar(r) ? "give this dimension in the param's shape instead of `_`" : "use a number here rather than a symbolic `dim`",
  });
  return undefined;
}
