// What the page draws besides the editor: the graphs (SVG from src/ir/draw.ts
// with each node linked to its source line), the loss and accuracy plot, and
// the grid of test images with the labels the model predicts.

/** Shows a graph's SVG; clicking a node reports its source line. The SVG is ours (labels escaped in draw.ts). */
export function showGraph(pane: HTMLElement, svg: string | undefined, note: string | undefined, onNode: (line: number) => void): void {
  // While the model has errors the last good graph stays, faded, so a half-typed line does not blank the picture.
  const stale = svg === undefined && pane.querySelector("svg") !== null;
  pane.classList.toggle("stale", stale);
  pane.title = stale ? (note ?? "") : "";
  if (stale) return;
  pane.innerHTML = svg ?? "";
  if (svg === undefined) pane.textContent = note ?? "";
  for (const g of pane.querySelectorAll<SVGGElement>("g.node")) {
    g.addEventListener("click", () => onNode(Number(g.dataset["line"])));
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `line ${g.dataset["line"]}: click to select it in the editor`;
    g.appendChild(title);
  }
}

/** Marks the nodes that came from `line`: the editor's way to its graph. */
export function markLine(panes: readonly HTMLElement[], line: number): void {
  for (const pane of panes) for (const g of pane.querySelectorAll<SVGGElement>("g.node")) g.classList.toggle("active", Number(g.dataset["line"]) === line);
}

export interface Curve {
  readonly losses: readonly number[];
  /** (step, accuracy on the test images) after each evaluation. */
  readonly accuracy: readonly (readonly [number, number])[];
}

/** The loss per step (and a running mean) on a log scale, with the test accuracy on a second axis. */
export function drawPlot(canvas: HTMLCanvasElement, c: Curve): void {
  const ctx = canvas.getContext("2d")!;
  const { width: w, height: h } = canvas;
  const pad = 30;
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui";
  ctx.fillStyle = "#444";
  ctx.fillText("loss (log scale, blue)   test accuracy (orange)", pad, 14);
  const finite = c.losses.filter((l) => Number.isFinite(l) && l > 0);
  if (finite.length === 0) return;
  const lo = Math.log(Math.min(...finite));
  const hi = Math.log(Math.max(...finite));
  const x = (i: number) => pad + ((w - 2 * pad) * i) / Math.max(1, c.losses.length - 1);
  const y = (l: number) => h - pad - ((h - 2 * pad) * (Math.log(l) - lo)) / Math.max(1e-9, hi - lo);
  const line = (pts: [number, number][], color: string, width: number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    pts.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
    ctx.stroke();
  };
  line(c.losses.map((l, i) => [x(i), y(Math.max(l, Math.exp(lo)))]), "#93c5fd", 1);
  let mean = c.losses[0]!;
  line(c.losses.map((l, i) => [x(i), y((mean = 0.9 * mean + 0.1 * l))]), "#1d4ed8", 2);
  line(c.accuracy.map(([s, a]) => [x(s - 1), h - pad - (h - 2 * pad) * a]), "#d97706", 2);
  ctx.fillStyle = "#444";
  ctx.fillText(`${Math.exp(hi).toPrecision(3)}`, 2, pad);
  ctx.fillText(`${Math.exp(lo).toPrecision(3)}`, 2, h - pad);
  ctx.fillText(`step ${c.losses.length}`, w - pad - 50, h - 8);
  ctx.fillStyle = "#d97706";
  ctx.textAlign = "right";
  ctx.fillText("100%", w - 2, pad);
  ctx.fillText("0%", w - 2, h - pad);
  ctx.textAlign = "left";
}

/** The first test images, each with the predicted label (red where it is wrong). */
export function drawGrid(grid: HTMLElement, images: Uint8Array, predicted: readonly number[], labels: readonly number[]): void {
  grid.replaceChildren(
    ...predicted.map((p, i) => {
      const fig = document.createElement("figure");
      const canvas = document.createElement("canvas");
      canvas.width = 28;
      canvas.height = 28;
      const img = canvas.getContext("2d")!.createImageData(28, 28);
      for (let k = 0; k < 784; k++) {
        const v = 255 - images[i * 784 + k]!;
        img.data.set([v, v, v, 255], 4 * k);
      }
      canvas.getContext("2d")!.putImageData(img, 0, 0);
      const cap = document.createElement("figcaption");
      cap.textContent = `${p}`;
      if (p !== labels[i]) {
        cap.className = "wrong";
        cap.title = `the label is ${labels[i]}`;
      }
      fig.append(canvas, cap);
      return fig;
    }),
  );
}

/** Offers bytes or text as a file to save. */
export function download(name: string, data: BlobPart, type: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
