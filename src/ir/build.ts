// AST → IR graph: declarations first (so they may appear in any order), then
// definitions top to bottom, then outputs, the loss and unused-name warnings.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { SourceFile, Span } from "../diag/source.ts";
import { didYouMean } from "../diag/suggest.ts";
import { BUILTINS } from "../ops/registry.ts";
import type { DType, IDim, IShape } from "../ops/types.ts";
import type { Program, ShapeSpec, Stmt } from "../syntax/ast.ts";
import { evalConst, readInit, readTrain } from "./consts.ts";
import { ExprBuilder, type Symbol } from "./build-expr.ts";
import type { Declared, DimDecl, Graph, NodeId, TrainSpec } from "./graph.ts";

function declaredName(s: Stmt): { text: string; span: Span } | undefined {
  switch (s.kind) {
    case "dim":
    case "data":
    case "param":
    case "const":
    case "fn":
    case "def":
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
    case "loss":
      return { kind: "value", role: "def", span };
    case "fn":
      return { kind: "fn", span, params: s.params, body: s.body };
    default:
      return undefined;
  }
}

export function buildGraph(program: Program, file: SourceFile, bag: DiagnosticBag): Graph {
  const symbols = new Map<string, Symbol>();
  const consts = new Map<string, number>();
  const dims: DimDecl[] = [];
  let modelName: string | undefined;
  let modelSpan: Span | undefined;

  const nowhere = file.span(0, 0);
  for (const name of program.broken) symbols.set(name, { kind: "broken", span: nowhere });

  // Pass 1: every name, so that redefinitions are caught wherever they are.
  for (const s of program.stmts) {
    if (s.kind === "model") {
      if (modelSpan) bag.error("NNC218", s.span, "the model is named twice", { notes: [{ message: "first named here", span: modelSpan }] });
      else {
        modelName = s.name.text;
        modelSpan = s.span;
      }
      continue;
    }
    const name = declaredName(s);
    if (!name) continue;
    const prior = symbols.get(name.text);
    if (prior?.kind === "broken") continue;
    if (prior) {
      bag.error("NNC205", name.span, `\`${name.text}\` is defined twice`, {
        notes: [{ message: `first defined here`, span: prior.span }],
        hint: "every name is defined once; choose a new name for the second value",
      });
      continue;
    }
    if (s.kind === "fn" && BUILTINS.has(name.text)) {
      bag.error("NNC218", name.span, `\`${name.text}\` is a built-in function and cannot be redefined`);
      continue;
    }
    if (s.kind === "fn") {
      const seen = new Map<string, Span>();
      for (const p of s.params) {
        const first = seen.get(p.text);
        if (first) bag.error("NNC205", p.span, `parameter \`${p.text}\` is listed twice`, { notes: [{ message: "first listed here", span: first }] });
        seen.set(p.text, p.span);
      }
    }
    symbols.set(name.text, symbolFor(s, name.span)!);
    if (s.kind === "dim") dims.push({ name: s.name.text, span: s.name.span, ...(s.value ? { default: s.value.value } : {}) });
  }

  const builder = new ExprBuilder(symbols, consts, bag);
  const declaredShapes = new Map<NodeId, { shape: IShape; dtype: DType }>();
  const unknowns: { span: Span; owner: string }[] = [];
  const inputs: Declared[] = [];
  const targets: Declared[] = [];
  const params: Declared[] = [];
  const defined = new Map<string, { node: NodeId; span: Span }>();

  const shapeOf = (spec: ShapeSpec, owner: string, allowInfer: boolean): IShape | undefined => {
    const out: IDim[] = [];
    let ok = true;
    for (const d of spec.dims) {
      if (d.kind === "int") out.push(d.value);
      else if (d.kind === "infer") {
        if (!allowInfer) {
          bag.error("NNC218", d.span, "`_` is only allowed in a param's shape", { hint: "give the size, or a `dim` name for a size bound later" });
          ok = false;
        } else {
          out.push({ var: unknowns.length });
          unknowns.push({ span: d.span, owner });
        }
      } else if (symbols.get(d.name)?.kind === "dim") out.push(d.name);
      else {
        const dimNames = [...symbols].filter(([, s]) => s.kind === "dim").map(([k]) => k);
        bag.error("NNC203", d.span, `unknown dim \`${d.name}\``, { hint: didYouMean(d.name, dimNames) ?? `declare it: dim ${d.name}` });
        ok = false;
      }
    }
    return ok ? out : undefined;
  };

  // Pass 2: declarations create source nodes.
  for (const s of program.stmts) {
    if (s.kind === "data" || s.kind === "param") {
      if (symbols.get(s.name.text)?.span !== s.name.span) continue; // a redefinition, already reported
      const shape = shapeOf(s.shape, s.name.text, s.kind === "param");
      let id: NodeId;
      if (s.kind === "data") {
        id = builder.add("input", [], { role: s.role, name: s.name.text }, s.span, [], s.name.text);
        (s.role === "input" ? inputs : targets).push({ name: s.name.text, node: id, span: s.name.span });
      } else {
        const init = s.init ? readInit(s.init, consts, bag) : { kind: "xavier" as const };
        id = builder.add("param", [], { name: s.name.text, init: init ?? { kind: "zeros" } }, s.span, [], s.name.text);
        params.push({ name: s.name.text, node: id, span: s.name.span });
      }
      if (shape) declaredShapes.set(id, { shape, dtype: s.kind === "data" ? s.dtype : "f32" });
      (symbols.get(s.name.text) as Extract<Symbol, { kind: "value" }>).node = id;
    } else if (s.kind === "const") {
      if (symbols.get(s.name.text)?.span !== s.name.span) continue;
      const v = evalConst(s.value, consts, bag, `const \`${s.name.text}\``);
      if (v === undefined) {
        symbols.set(s.name.text, { kind: "broken", span: s.name.span });
        continue;
      }
      consts.set(s.name.text, v);
      (symbols.get(s.name.text) as Extract<Symbol, { kind: "value" }>).node = builder.add("const", [], { value: v }, s.span, [], s.name.text);
    }
  }

  // Pass 3: definitions, top to bottom.
  let train: TrainSpec | undefined;
  let trainSpan: Span | undefined;
  for (const s of program.stmts) {
    if (s.kind === "def" || s.kind === "loss") {
      const name = s.kind === "def" ? s.name : { text: "loss", span: s.keyword };
      const sym = symbols.get(name.text);
      if (sym?.kind !== "value" || sym.span !== name.span) continue;
      const id = builder.expr(s.value, new Map());
      if (id === undefined) {
        // Already reported: later uses of the name stay quiet rather than cascade.
        symbols.set(name.text, { kind: "broken", span: name.span });
        continue;
      }
      const node = builder.nodes[id]!;
      // An alias (`y = x`) names nothing new; otherwise the node takes the user's name.
      if (node.name === undefined) builder.nodes[id] = { ...node, name: name.text };
      sym.node = id;
      defined.set(name.text, { node: id, span: name.span });
    } else if (s.kind === "train") {
      if (trainSpan) {
        bag.error("NNC219", s.span, "only one `train` statement is allowed", { notes: [{ message: "the first is here", span: trainSpan }] });
        continue;
      }
      trainSpan = s.span;
      train = readTrain(s.optimizer, s.args, s.span, consts, bag);
    }
  }

  const outputs: Declared[] = [];
  for (const s of program.stmts) {
    if (s.kind !== "output") continue;
    for (const n of s.names) {
      const sym = symbols.get(n.text);
      if (sym?.kind === "value" && sym.node !== undefined) {
        if (outputs.some((o) => o.name === n.text)) bag.error("NNC205", n.span, `\`${n.text}\` is listed as an output twice`);
        else outputs.push({ name: n.text, node: sym.node, span: n.span });
      } else if (sym?.kind === "broken") {
        continue;
      } else if (!sym) {
        const hint = didYouMean(n.text, [...symbols].filter(([, x]) => x.kind === "value").map(([k]) => k));
        bag.error("NNC203", n.span, `unknown name \`${n.text}\``, hint ? { hint } : {});
      } else if (sym.kind !== "value") bag.error("NNC203", n.span, `\`${n.text}\` is not a value and cannot be an output`);
    }
  }
  const lossDef = defined.get("loss");
  const loss: Declared | undefined = lossDef ? { name: "loss", node: lossDef.node, span: lossDef.span } : undefined;

  // After any error, "unused" is more likely a consequence than a mistake of its own.
  if (bag.errorCount === 0) warnUnused(builder, [...inputs, ...targets, ...params], [...outputs.map((o) => o.node), ...(loss ? [loss.node] : [])], bag);

  return {
    stage: "graph",
    file,
    modelName: modelName ?? (file.path.split(/[\\/]/).pop() ?? "model").replace(/\.nn$/, "").replace(/[^A-Za-z0-9_]/g, "_"),
    dims,
    nodes: builder.nodes,
    inputs,
    targets,
    params,
    outputs,
    ...(loss ? { loss } : {}),
    ...(train ? { train } : {}),
    declaredShapes,
    unknowns,
  };
}

/** Params and data that no output and no loss depend on are probably mistakes. */
function warnUnused(builder: ExprBuilder, declared: readonly Declared[], roots: readonly NodeId[], bag: DiagnosticBag): void {
  if (roots.length === 0) return;
  const live = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...builder.nodes[id]!.args);
  }
  for (const d of declared) {
    if (live.has(d.node)) continue;
    const node = builder.nodes[d.node]!;
    const what = node.op === "param" ? "param" : node.op === "input" ? node.attrs.role : "value";
    bag.warning("NNC212", d.span, `${what} \`${d.name}\` is never used by an output or the loss`);
  }
}
