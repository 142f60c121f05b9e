// AST → IR graph: declarations first (so they may appear in any order), then
// definitions top to bottom, then outputs, the loss and unused-name warnings.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { SourceFile, Span } from "../diag/source.ts";
import { didYouMean } from "../diag/suggest.ts";
import { BUILTINS } from "../ops/registry.ts";
import type { DType, IDim, IShape } from "../ops/types.ts";
import { defineIn, repeatIn, TOP_LEVEL, validateLayer, type LayerHost } from "./build-layer.ts";
import type { Expr, Program, ShapeSpec, Stmt } from "../syntax/ast.ts";
import { evalConst, readInit, readTrain } from "./consts.ts";
import { ExprBuilder, type Symbol } from "./build-expr.ts";
import type { Declared, DimDecl, Expansion, Graph, NodeId, RunningStat, TrainSpec } from "./graph.ts";
import { liveFrom } from "./compact.ts";

function declaredName(s: Stmt): { text: string; span: Span } | undefined {
  switch (s.kind) {
    case "dim":
    case "data":
    case "param":
    case "const":
    case "fn":
    case "def":
    case "layer":
    case "repeat":
      return s.name;
    case "loss":
      return { text: "loss", span: s.keyword };
    default:
      return undefined;
  }
}

function symbolFor(s: Stmt, span: Span): Symbol | undefined {
  switch (s.kind) {
    case "dim":
      return { kind: "dim", span };
    case "data":
      return { kind: "value", role: s.role, span };
    case "param":
      return { kind: "value", role: "param", span };
    case "const":
      return { kind: "value", role: "const", span };
    case "def":
    case "repeat":
    case "loss":
      return { kind: "value", role: "def", span };
    case "layer":
      return { kind: "layer", span, def: s };
    case "fn":
      return { kind: "fn", span, params: s.params, body: s.body };
    default:
      return undefined;
  }
}

export function buildGraph(program: Program, file: SourceFile, bag: DiagnosticBag): Graph {
  const b = new GraphBuild(file, bag, program.broken);
  const { modelName, dims } = b.declareNames(program.stmts);
  b.validateLayers(program.stmts);
  b.declareSources(program.stmts);
  const train = b.defineValues(program.stmts);
  const outputs = b.outputs(program.stmts);
  const lossDef = b.defined.get("loss");
  const loss: Declared | undefined = lossDef ? { name: "loss", node: lossDef.node, span: lossDef.span } : undefined;

  // After any error, "unused" is more likely a consequence than a mistake of its own.
  if (bag.errorCount === 0) warnUnused(b.builder, [...b.inputs, ...b.targets, ...b.params], [...outputs.map((o) => o.node), ...(loss ? [loss.node] : [])], bag);

  return {
    stage: "graph",
    file,
    modelName: modelName ?? (file.path.split(/[\\/]/).pop() ?? "model").replace(/\.nn$/, "").replace(/[^A-Za-z0-9_]/g, "_"),
    dims,
    nodes: b.builder.nodes,
    inputs: b.inputs,
    targets: b.targets,
    params: b.params,
    ...(b.runningStats.length > 0 ? { runningStats: b.runningStats } : {}),
    outputs,
    ...(loss ? { loss } : {}),
    ...(train ? { train } : {}),
    declaredShapes: b.declaredShapes,
    unknowns: b.unknowns,
  };
}

/** The state the passes of buildGraph share: the symbol table, the nodes built so far, what was declared. */
class GraphBuild implements LayerHost {
  readonly symbols = new Map<string, Symbol>();
  readonly consts = new Map<string, number>();
  readonly builder: ExprBuilder;
  readonly declaredShapes = new Map<NodeId, { shape: IShape; dtype: DType }>();
  readonly unknowns: { span: Span; owner: string; use?: Expansion }[] = [];
  readonly inputs: Declared[] = [];
  readonly targets: Declared[] = [];
  readonly params: Declared[] = [];
  readonly defined = new Map<string, { node: NodeId; span: Span }>();
  readonly runningStats: RunningStat[] = [];
  /** The definition being built: running statistics are named after it. */
  defining = "";

  constructor(
    file: SourceFile,
    readonly bag: DiagnosticBag,
    broken: ReadonlySet<string>,
  ) {
    const nowhere = file.span(0, 0);
    for (const name of broken) this.symbols.set(name, { kind: "broken", span: nowhere });
    this.builder = new ExprBuilder(this.symbols, this.consts, bag);
    this.builder.stats = {
      declare: (suffix, span, add, update) => {
        // `h1.running_mean`, then `h1.running_mean_2` for a second batchnorm in the same definition.
        const base = `${this.defining}.${suffix}`;
        const taken = (n: string) => this.params.some((p) => p.name === n);
        let name = base;
        for (let k = 2; taken(name); k++) name = `${base}_${k}`;
        const node = add(name);
        this.params.push({ name, node, span });
        this.declaredShapes.set(node, { shape: [{ var: this.unknowns.length }], dtype: "f32" });
        this.unknowns.push({ span, owner: name });
        this.runningStats.push({ name, node, update: update(node) });
        return node;
      },
    };
  }

  /** Pass 1: every name, so that redefinitions are caught wherever they are. */
  declareNames(stmts: readonly Stmt[]): { modelName: string | undefined; dims: DimDecl[] } {
    const dims: DimDecl[] = [];
    let modelName: string | undefined;
    let modelSpan: Span | undefined;
    for (const s of stmts) {
      if (s.kind === "model") {
        if (modelSpan) this.bag.error("NNC218", s.span, "the model is named twice", { notes: [{ message: "first named here", span: modelSpan }] });
        else {
          modelName = s.name.text;
          modelSpan = s.span;
        }
        continue;
      }
      const name = declaredName(s);
      if (!name || !this.mayDeclare(s, name)) continue;
      this.symbols.set(name.text, symbolFor(s, name.span)!);
      if (s.kind === "dim") dims.push({ name: s.name.text, span: s.name.span, ...(s.value ? { default: s.value.value } : {}) });
    }
    return { modelName, dims };
  }

  /** Whether a statement may declare its name: not taken, not a built-in for a `fn` (reported otherwise). */
  private mayDeclare(s: Stmt, name: { text: string; span: Span }): boolean {
    const prior = this.symbols.get(name.text);
    if (prior?.kind === "broken") return false;
    if (prior) {
      this.bag.error("NNC205", name.span, `\`${name.text}\` is defined twice`, {
        notes: [{ message: `first defined here`, span: prior.span }],
        hint: "every name is defined once; choose a new name for the second value",
      });
      return false;
    }
    if (s.kind !== "fn" && s.kind !== "layer") return true;
    if (BUILTINS.has(name.text)) {
      this.bag.error("NNC218", name.span, `\`${name.text}\` is a built-in function and cannot be redefined`);
      return false;
    }
    if (s.kind === "layer") return true; // its arguments are checked with its body, by validateLayer
    const seen = new Map<string, Span>();
    for (const p of s.params) {
      const first = seen.get(p.text);
      if (first) this.bag.error("NNC205", p.span, `parameter \`${p.text}\` is listed twice`, { notes: [{ message: "first listed here", span: first }] });
      seen.set(p.text, p.span);
    }
    return true;
  }

  /** Pass 1b: each layer's body, once (a layer in error is quiet where it is used). */
  validateLayers(stmts: readonly Stmt[]): void {
    for (const s of stmts) {
      if (s.kind !== "layer" || this.symbols.get(s.name.text)?.span !== s.name.span) continue;
      if (!validateLayer(s, this.symbols, this.bag)) this.symbols.set(s.name.text, { kind: "broken", span: s.name.span });
    }
  }

  /** A param that a layer use declares, named `use.NAME`; numbered after the top-level ones, in the order uses are built. */
  declareParam(fullName: string, s: Extract<Stmt, { kind: "param" }>, shape: IShape | undefined): NodeId {
    const init = s.init ? readInit(s.init, this.consts, this.bag) : { kind: "xavier" as const };
    const id = this.builder.add("param", [], { name: fullName, init: init ?? { kind: "zeros" } }, s.span, [], fullName);
    this.params.push({ name: fullName, node: id, span: s.name.span });
    if (shape) this.declaredShapes.set(id, { shape, dtype: "f32" });
    return id;
  }

  /** A declared shape; `_` becomes an unknown to solve (params only); `sizes` are a layer's size arguments. Undefined after an error. */
  shapeOf(spec: ShapeSpec, owner: string, allowInfer: boolean, sizes?: ReadonlyMap<string, IDim>): IShape | undefined {
    const out: IDim[] = [];
    let ok = true;
    for (const d of spec.dims) {
      if (d.kind === "int") out.push(d.value);
      else if (d.kind === "infer") {
        if (!allowInfer) {
          this.bag.error("NNC218", d.span, "`_` is only allowed in a param's shape", { hint: "give the size, or a `dim` name for a size bound later" });
          ok = false;
        } else {
          out.push({ var: this.unknowns.length });
          const use = this.builder.expansion[this.builder.expansion.length - 1];
          this.unknowns.push({ span: d.span, owner, ...(use ? { use: { span: use.span, note: use.note } } : {}) });
        }
      } else if (sizes?.has(d.name)) out.push(sizes.get(d.name)!);
      else if (this.symbols.get(d.name)?.kind === "dim") out.push(d.name);
      else {
        const dimNames = [...this.symbols].filter(([, s]) => s.kind === "dim").map(([k]) => k);
        this.bag.error("NNC203", d.span, `unknown dim \`${d.name}\``, { hint: didYouMean(d.name, dimNames) ?? `declare it: dim ${d.name}` });
        ok = false;
      }
    }
    return ok ? out : undefined;
  }

  /** Pass 2: declarations create source nodes. */
  declareSources(stmts: readonly Stmt[]): void {
    for (const s of stmts) {
      if (s.kind === "data" || s.kind === "param") {
        if (this.symbols.get(s.name.text)?.span !== s.name.span) continue; // a redefinition, already reported
        const shape = this.shapeOf(s.shape, s.name.text, s.kind === "param");
        let id: NodeId;
        if (s.kind === "data") {
          id = this.builder.add("input", [], { role: s.role, name: s.name.text }, s.span, [], s.name.text);
          (s.role === "input" ? this.inputs : this.targets).push({ name: s.name.text, node: id, span: s.name.span });
        } else {
          const init = s.init ? readInit(s.init, this.consts, this.bag) : { kind: "xavier" as const };
          id = this.builder.add("param", [], { name: s.name.text, init: init ?? { kind: "zeros" } }, s.span, [], s.name.text);
          this.params.push({ name: s.name.text, node: id, span: s.name.span });
        }
        if (shape) this.declaredShapes.set(id, { shape, dtype: s.kind === "data" ? s.dtype : "f32" });
        (this.symbols.get(s.name.text) as Extract<Symbol, { kind: "value" }>).node = id;
      } else if (s.kind === "const") {
        if (this.symbols.get(s.name.text)?.span !== s.name.span) continue;
        const v = evalConst(s.value, this.consts, this.bag, `const \`${s.name.text}\``);
        if (v === undefined) {
          this.symbols.set(s.name.text, { kind: "broken", span: s.name.span });
          continue;
        }
        this.consts.set(s.name.text, v);
        (this.symbols.get(s.name.text) as Extract<Symbol, { kind: "value" }>).node = this.builder.add("const", [], { value: v }, s.span, [], s.name.text);
      }
    }
  }

  /** Pass 3: definitions, top to bottom, and the one `train` statement. */
  defineValues(stmts: readonly Stmt[]): TrainSpec | undefined {
    let train: TrainSpec | undefined;
    let trainSpan: Span | undefined;
    for (const s of stmts) {
      if (s.kind === "def" || s.kind === "loss") this.define(s.kind === "def" ? s.name : { text: "loss", span: s.keyword }, s.value);
      else if (s.kind === "repeat") this.define(s.name, s);
      else if (s.kind === "return") {
        this.bag.error("NNC245", s.keyword, "`return` outside a layer", {
          hint: "`return` ends an indented layer body; at the top level, name the value: `y = …`",
        });
      } else if (s.kind === "train") {
        if (trainSpan) {
          this.bag.error("NNC219", s.span, "only one `train` statement is allowed", { notes: [{ message: "the first is here", span: trainSpan }] });
          continue;
        }
        trainSpan = s.span;
        train = readTrain(s.optimizer, s.args, s.span, this.consts, this.bag);
      }
    }
    return train;
  }

  private define(name: { text: string; span: Span }, value: Expr | Extract<Stmt, { kind: "repeat" }>): void {
    const sym = this.symbols.get(name.text);
    if (sym?.kind !== "value" || sym.span !== name.span) return;
    const id = value.kind === "repeat" ? repeatIn(this, value, TOP_LEVEL()) : defineIn(this, name, value, TOP_LEVEL());
    if (id === undefined) {
      // Already reported: later uses of the name stay quiet rather than cascade.
      this.symbols.set(name.text, { kind: "broken", span: name.span });
      return;
    }
    const node = this.builder.nodes[id]!;
    // An alias (`y = x`) names nothing new; otherwise the node takes the user's name.
    if (node.name === undefined) this.builder.nodes[id] = { ...node, name: name.text };
    sym.node = id;
    this.defined.set(name.text, { node: id, span: name.span });
  }

  /** The values `output` statements name, each once. */
  outputs(stmts: readonly Stmt[]): Declared[] {
    const outputs: Declared[] = [];
    for (const s of stmts) {
      if (s.kind !== "output") continue;
      for (const n of s.names) {
        const sym = this.symbols.get(n.text);
        if (sym?.kind === "value" && sym.node !== undefined) {
          if (outputs.some((o) => o.name === n.text)) this.bag.error("NNC205", n.span, `\`${n.text}\` is listed as an output twice`);
          else outputs.push({ name: n.text, node: sym.node, span: n.span });
        } else if (sym?.kind === "broken") {
          continue;
        } else if (!sym) {
          const hint = didYouMean(n.text, [...this.symbols].filter(([, x]) => x.kind === "value").map(([k]) => k));
          this.bag.error("NNC203", n.span, `unknown name \`${n.text}\``, hint ? { hint } : {});
        } else if (sym.kind !== "value") this.bag.error("NNC203", n.span, `\`${n.text}\` is not a value and cannot be an output`);
      }
    }
    return outputs;
  }
}

/** Params and data that no output and no loss depend on are probably mistakes. */
function warnUnused(builder: ExprBuilder, declared: readonly Declared[], roots: readonly NodeId[], bag: DiagnosticBag): void {
  if (roots.length === 0) return;
  const live = liveFrom(builder.nodes, roots);
  // A layer's param unused at every use is one mistake, in one place: one warning names them all.
  const bySpan = new Map<Span, Declared[]>();
  for (const d of declared) if (!live.has(d.node)) bySpan.set(d.span, [...(bySpan.get(d.span) ?? []), d]);
  for (const [span, ds] of bySpan) {
    const node = builder.nodes[ds[0]!.node]!;
    const what = node.op === "param" ? "param" : node.op === "input" ? node.attrs.role : "value";
    const names = ds.map((d) => `\`${d.name}\``);
    const subject = names.length === 1 ? `${what} ${names[0]} is` : `${what}s ${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are`;
    bag.warning("NNC212", span, `${subject} never used by an output or the loss`);
  }
}
