// The playground page: wires the editor to the compiler Worker (diagnostics,
// shapes, graphs on every edit) and the Train buttons to the training Worker.
// The model lives in the URL's hash, so a link shares it.
import type { EditorView } from "@codemirror/view";
import { createEditor, replaceText, revealLine, showDiagnostics } from "./editor.ts";
import { loadMnist, type Mnist } from "./mnist.ts";
import type { AnalyzeRequest, AnalyzeResult, Target, TrainEvent, TrainRequest } from "./protocol.ts";
import { download, drawGrid, drawPlot, markLine, showGraph } from "./views.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const DEBOUNCE_MS = 200;

/** What the page has seen, readable from the console (and by the browser test). */
interface PageState {
  analyses: number;
  /** The text the shown diagnostics and graphs are of (a test waits for its own edit, not an earlier one's answer). */
  analyzed: string;
  diagnostics: AnalyzeResult["diagnostics"];
  losses: number[];
  accuracy: [number, number][];
  backend: string;
  module: string;
  error: string;
}
const state: PageState = { analyses: 0, analyzed: "", diagnostics: [], losses: [], accuracy: [], backend: "", module: "", error: "" };
(window as unknown as { playground: PageState }).playground = state;

const encode = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const decode = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

function modelFromHash(): string | undefined {
  const m = /^#model=([A-Za-z0-9_-]*)$/.exec(location.hash);
  if (!m) return undefined;
  try {
    return decode(m[1]!);
  } catch {
    return undefined;
  }
}

const analyzer = new Worker(new URL("analyze-worker.js", import.meta.url), { type: "module" });
const trainer = new Worker(new URL("train-worker.js", import.meta.url), { type: "module" });
const send = (m: TrainRequest) => trainer.postMessage(m);
let requested = 0;
let requestedText = "";
let timer: ReturnType<typeof setTimeout> | undefined;
let shapes: Readonly<Record<string, string>> = {};
let cursorLine = 1;
let mnist: Promise<Mnist> | undefined;
const graphPanes = [$("forward"), $("backward")];

function analyzeSoon(text: string): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    requestedText = text;
    analyzer.postMessage({ id: ++requested, text } satisfies AnalyzeRequest);
  }, DEBOUNCE_MS);
  history.replaceState(null, "", `#model=${encode(text)}`);
}

const editor: EditorView = createEditor($("editor"), modelFromHash() ?? "", {
  onChange: analyzeSoon,
  onCursorLine: (line) => {
    cursorLine = line;
    markLine(graphPanes, line);
  },
  shapeOf: (name) => shapes[name],
});

analyzer.onmessage = (e: MessageEvent<AnalyzeResult>) => {
  const r = e.data;
  if (r.id !== requested) return; // a newer edit is on its way
  state.analyses++;
  state.analyzed = requestedText;
  state.diagnostics = r.diagnostics;
  shapes = r.shapes;
  showDiagnostics(editor, r.diagnostics);
  const pane = $("diagnostics");
  pane.textContent = r.diagnostics.length === 0 ? "model.nn: ok" : r.diagnostics.map((d) => d.rendered).join("\n\n");
  pane.classList.toggle("ok", r.diagnostics.length === 0);
  const reveal = (line: number) => revealLine(editor, line);
  showGraph($("forward"), r.forwardSvg, r.note, reveal);
  showGraph($("backward"), r.backwardSvg, r.note, reveal);
  $("math").textContent = r.gradText ?? r.note ?? "";
  markLine(graphPanes, cursorLine);
};

function setTraining(running: boolean, started: boolean): void {
  $<HTMLButtonElement>("stop").disabled = !running;
  $<HTMLButtonElement>("resume").disabled = running || !started;
  $<HTMLButtonElement>("download-checkpoint").disabled = !started;
}

trainer.onmessage = (e: MessageEvent<TrainEvent>) => {
  const m = e.data;
  const status = $("train-status");
  switch (m.type) {
    case "compiled":
      Object.assign(state, { losses: [], accuracy: [], backend: m.backend, module: m.module, error: "" });
      $<HTMLButtonElement>("download-module").disabled = false;
      status.textContent = `compiled for ${m.backend}, batch ${m.batch}: training…`;
      setTraining(true, true);
      return;
    case "progress":
      state.losses.push(...m.losses);
      status.textContent = `${state.backend}: step ${m.step}, loss ${m.losses[m.losses.length - 1]!.toFixed(4)}`;
      drawPlot($("plot"), state);
      return;
    case "evaluated":
      state.accuracy.push([m.step, m.accuracy]);
      drawPlot($("plot"), state);
      mnist ??= loadMnist(new URL("mnist.bin", location.href).href);
      void mnist.then((d) => drawGrid($("grid"), d.testImages, m.predicted, m.labels));
      return;
    case "stopped":
      status.textContent = `${state.backend}: stopped at step ${m.step}; test accuracy ${((state.accuracy.at(-1)?.[1] ?? 0) * 100).toFixed(1)}%`;
      setTraining(false, true);
      return;
    case "checkpoint":
      download("checkpoint.nnck", m.bytes as Uint8Array<ArrayBuffer>, "application/octet-stream");
      return;
    case "error":
      state.error = m.message;
      status.textContent = m.message;
      setTraining(false, state.module !== "");
      return;
  }
};

function selectTab(name: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("#tabs button")) b.classList.toggle("active", b.dataset["tab"] === name);
  for (const p of document.querySelectorAll<HTMLElement>(".pane")) p.classList.toggle("active", p.id === name);
}
for (const b of document.querySelectorAll<HTMLButtonElement>("#tabs button")) b.addEventListener("click", () => selectTab(b.dataset["tab"]!));

$("train").addEventListener("click", () => {
  selectTab("training");
  $("train-status").textContent = "compiling…";
  send({ type: "start", text: editor.state.doc.toString(), target: $<HTMLSelectElement>("target").value as Target });
});
$("stop").addEventListener("click", () => send({ type: "stop" }));
$("resume").addEventListener("click", () => {
  send({ type: "resume" });
  setTraining(true, true);
});
$("download-module").addEventListener("click", () => download("model.ts", state.module, "text/plain"));
$("download-checkpoint").addEventListener("click", () => send({ type: "checkpoint" }));

async function init(): Promise<void> {
  const examples = (await (await fetch("examples.json")).json()) as { name: string; text: string }[];
  const menu = $<HTMLSelectElement>("examples");
  for (const ex of examples) menu.append(new Option(ex.name, ex.name));
  menu.addEventListener("change", () => {
    const ex = examples.find((x) => x.name === menu.value);
    if (ex) replaceText(editor, ex.text);
  });
  if (editor.state.doc.length === 0) {
    menu.value = "mnist_tanh";
    replaceText(editor, examples.find((x) => x.name === menu.value)?.text ?? "");
  } else analyzeSoon(editor.state.doc.toString());
  // WebGPU is offered where the browser has an adapter.
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const option = $<HTMLSelectElement>("target").querySelector<HTMLOptionElement>('option[value="webgpu"]')!;
  option.disabled = !adapter;
  option.textContent = adapter ? "WebGPU" : "WebGPU (no adapter in this browser)";
  document.body.dataset["ready"] = adapter ? "webgpu" : "cpu";
}
void init();
