// Assembling one WGSL compute shader: the buffers, dims and uniforms it
// declares are those its body was built from (Bindings records every value,
// dim and library function as the body asks for it), never found by
// scanning the text afterwards.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Place } from "../../lower/places.ts";
import { placeName } from "../../lower/places.ts";
import { shapeSize, type Size } from "../../lower/size.ts";
import type { WgslValue } from "../../ops/types.ts";
import { WGSL_ROW_THREADS } from "../../ops/wgsl-util.ts";
import { commentText } from "../comment.ts";
import { dimExpr, sizeText, sourceComment } from "../common.ts";
import { libraryFor } from "./wgsl-lib.ts";

/** Invocations per workgroup of a "threads" kernel. */
export const THREADS_PER_GROUP = 64;
/** The side of a matrix product's tile: 16 × 16 invocations, each one output. */
export const TILE = 16;

export interface Binding {
  /** The host buffer bound: a persistent buffer (x0, p0, g0, …), a temporary (t0, i0), or the uniform `run`. */
  readonly buffer: string;
  readonly access: "read" | "read_write" | "uniform";
}

export type Dispatch =
  /** One invocation per element: ⌈count / 64⌉ workgroups, in two dimensions past the per-dimension limit. */
  | { readonly kind: "threads"; readonly count: string }
  /** One workgroup per row. */
  | { readonly kind: "rows"; readonly count: string }
  /** Tiles of a matrix product: ⌈cols/16⌉ × ⌈rows/16⌉ × batch. */
  | { readonly kind: "tiles"; readonly rows: string; readonly cols: string; readonly batch: string };

export interface Kernel {
  /** What it computes, for comments and diagnostics ("tanh(l0 W0)"). */
  readonly what: string;
  /** The node whose source line it computes (its span, for diagnostics). */
  readonly node: NodeId;
  readonly wgsl: string;
  readonly bindings: readonly Binding[];
  readonly dispatch: Dispatch;
  /** The dims the shader declares as overridable constants. */
  readonly dims: readonly string[];
  readonly workgroupSize: readonly [number, number];
  readonly workgroupBytes: number;
}

/**
 * A WGSL name for a value: the user's, prefixed so it cannot meet a WGSL
 * keyword or a kernel's locals; a layer's dotted name (`b1.h`) with `_` for
 * its dots (a clash with another name is resolved where names are bound).
 */
export function valueName(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  if (n.name !== undefined && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/.test(n.name)) return `v_${n.name.replaceAll(".", "_")}`;
  return `t_${id}`;
}

interface Bound {
  readonly buffer: string;
  access: "read" | "read_write";
  readonly name: string;
  readonly type: "f32" | "i32";
  used: boolean;
}

/** The buffers, dims and library functions a shader's body uses, recorded as the body is built. */
export class Bindings {
  private readonly list: Bound[] = [];
  private readonly usedDims = new Set<string>();
  private readonly library = new Set<string>();

  constructor(
    private readonly g: GradGraph,
    private readonly place: (id: NodeId) => Place,
  ) {}

  /** A value's buffer, bound once per buffer; it counts as used when the body reads its `ref`. */
  value(id: NodeId, access: "read" | "read_write" = "read"): WgslValue {
    const g = this.g;
    const buffer = placeName(this.place(id));
    let b = this.list.find((x) => x.buffer === buffer);
    if (!b) {
      let name = valueName(g, id);
      while (this.list.some((x) => x.name === name)) name = `${name}_${id}`;
      b = { buffer, access, name, type: g.dtypes[id] === "i32" ? "i32" : "f32", used: false };
      this.list.push(b);
    } else if (access === "read_write") b.access = "read_write";
    const bound = b;
    const shape = g.shapes[id]!;
    const axes: string[] = [];
    shape.forEach((d, k) => Object.defineProperty(axes, k, { get: () => this.dim(d), enumerable: true }));
    const size = () => this.size(shapeSize(shape));
    return {
      get ref() {
        bound.used = true;
        return bound.name;
      },
      type: bound.type,
      shape: axes,
      get size() {
        return size();
      },
    };
  }

  /**
   * An element of a value read by a scalar expression: its text, and `use`
   * to call when the expression does read it (dropout_mask ignores its
   * argument's values, and a binding nobody reads must not be declared).
   */
  element(id: NodeId, index: string): { readonly text: string; use(): void } {
    const value = this.value(id);
    const bound = this.list.find((x) => x.buffer === placeName(this.place(id)))!;
    return { text: `${bound.name}[${index}]`, use: () => void value.ref };
  }

  /** An axis as a u32 expression, its dim declared. */
  dim(d: string | number): string {
    if (typeof d === "string") this.usedDims.add(d);
    return dimExpr(d);
  }

  size(s: Size): string {
    s.dims.forEach((d) => this.usedDims.add(d));
    return sizeText(s);
  }

  uses(names: Iterable<string>): void {
    for (const n of names) this.library.add(n);
  }

  /** The shader: header comment, dims, storage bindings, uniforms, library, entry point around `body`. */
  shader(node: NodeId, what: string, body: readonly string[], mode: "threads" | "rows" | "tiles", count: string): { wgsl: string; bindings: Binding[]; dims: string[] } {
    const lib = libraryFor(this.library);
    const dims = [...this.usedDims].sort();
    const lines: string[] = [`// ${sourceComment(this.g, node)}`, `// ${commentText(what)}`, ""];
    for (const d of dims) lines.push(`override dim_${d}: u32;`);
    const bindings: Binding[] = [];
    // Only buffers the body reads or writes: a layout made from the shader leaves the others out (dropout_mask never reads x).
    this.list.filter((x) => x.used).forEach((x, k) => {
      lines.push(`@group(0) @binding(${k}) var<storage, ${x.access}> ${x.name}: array<${x.type}>;`);
      bindings.push({ buffer: x.buffer, access: x.access });
    });
    if (lib.some((f) => f.run)) {
      lines.push("struct Run { seed: u32, step: u32 }");
      lines.push(`@group(0) @binding(${bindings.length}) var<uniform> run: Run;`);
      bindings.push({ buffer: "run", access: "uniform" });
    }
    if (mode === "rows") lines.push(`var<workgroup> scratch: array<f32, ${WGSL_ROW_THREADS}>;`);
    lines.push("");
    for (const f of lib) lines.push(f.text, "");
    lines.push(...entryPoint(mode, count));
    for (const l of body) lines.push(`  ${l}`);
    lines.push("}");
    return { wgsl: lines.join("\n") + "\n", bindings, dims };
  }
}

function entryPoint(mode: "threads" | "rows" | "tiles", count: string): string[] {
  switch (mode) {
    case "threads":
      return [
        `@compute @workgroup_size(${THREADS_PER_GROUP})`,
        "fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {",
        `  let i: u32 = gid.x + gid.y * groups.x * ${THREADS_PER_GROUP}u;`,
        `  if (i >= ${count}) { return; }`,
      ];
    case "rows":
      return [
        `@compute @workgroup_size(${WGSL_ROW_THREADS})`,
        "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {",
        "  let row: u32 = wid.x + wid.y * groups.x;",
        `  if (row >= ${count}) { return; }`,
      ];
    case "tiles":
      return [
        `var<workgroup> tileA: array<f32, ${TILE * TILE}>;`,
        `var<workgroup> tileB: array<f32, ${TILE * TILE}>;`,
        "",
        `@compute @workgroup_size(${TILE}, ${TILE})`,
        "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {",
      ];
  }
}
