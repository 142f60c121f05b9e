// The page's compiler Worker: on every edit, the front end and
// differentiation (src/pipeline.ts, as `nnc check` and `nnc grad` run them),
// then both graphs laid out by ELK. Off the main thread, so typing never waits.
import { renderDiagnostic } from "../diag/render.ts";
import { drawSvg, forwardDrawable, gradDrawable, layoutEngine } from "../ir/draw.ts";
import { printGrad } from "../ir/print-grad.ts";
import { runGrad } from "../pipeline.ts";
import { MODEL_FILE, type AnalyzeRequest, type AnalyzeResult, type PageDiagnostic } from "./protocol.ts";

const scope = self as unknown as { onmessage: ((e: MessageEvent<AnalyzeRequest>) => void) | null; postMessage(m: AnalyzeResult): void };

async function analyze({ id, text }: AnalyzeRequest): Promise<AnalyzeResult> {
  const r = runGrad(MODEL_FILE, text);
  const diagnostics: PageDiagnostic[] = r.diagnostics.sorted().map((d) => ({
    from: d.span.start,
    to: d.span.end,
    severity: d.severity,
    code: d.code,
    message: d.message,
    rendered: renderDiagnostic(d),
  }));
  if (!r.shaped) return { id, diagnostics, shapes: {}, note: "the graphs appear once the model has no errors" };
  const s = r.shaped;
  const shapes: Record<string, string> = {};
  for (const n of s.nodes) if (n.name !== undefined) shapes[n.name] = `[${s.shapes[n.id]!.join(", ")}] ${s.dtypes[n.id]}`;
  const forwardSvg = await drawSvg(forwardDrawable(s), `${s.modelName}: the shaped forward graph`);
  if (!r.grad) return { id, diagnostics, shapes, forwardSvg, note: "no backward graph: the model has no loss to differentiate" };
  const backwardSvg = await drawSvg(gradDrawable(r.grad), `${s.modelName}: forward (white) and backward (blue)`);
  return { id, diagnostics, shapes, forwardSvg, backwardSvg, gradText: printGrad(r.grad) };
}

function handle(e: MessageEvent<AnalyzeRequest>): void {
  analyze(e.data).then(
    (res) => scope.postMessage(res),
    (err: unknown) => scope.postMessage({ id: e.data.id, diagnostics: [], shapes: {}, note: `internal error: ${String(err)}` }),
  );
}

// Loading ELK takes over this Worker's onmessage (see layoutEngine), so ours
// goes back in once it has loaded; requests that come sooner wait for it.
const ready = layoutEngine().then(() => {
  scope.onmessage = handle;
});
scope.onmessage = (e) => void ready.then(() => handle(e));
