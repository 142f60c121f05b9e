// An SVG a user can open: loss (left axis) and accuracy (right axis, 0–1)
// per epoch. Written by hand so that nothing but nnc is needed.
import type { EpochMetrics } from "./files.ts";

const W = 720;
const H = 360;
const M = { left: 64, right: 64, top: 58, bottom: 48 };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function plotMetrics(title: string, rows: readonly EpochMetrics[]): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const maxEpoch = Math.max(1, ...rows.map((r) => r.epoch));
  const maxLoss = niceMax(Math.max(0, ...rows.flatMap((r) => [r.loss, r.valLoss ?? 0]).filter(Number.isFinite)));
  const x = (e: number) => M.left + (iw * (e - (rows.length > 1 ? 1 : 0))) / Math.max(1, maxEpoch - (rows.length > 1 ? 1 : 0));
  const yLoss = (v: number) => M.top + ih * (1 - Math.min(v, maxLoss) / maxLoss);
  const yAcc = (v: number) => M.top + ih * (1 - v);
  const line = (points: [number, number][], color: string, dash = "") =>
    points.length === 0 ? "" : `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`;
  const loss = rows.filter((r) => Number.isFinite(r.loss)).map((r) => [x(r.epoch), yLoss(r.loss)] as [number, number]);
  const train = rows.filter((r) => r.trainAccuracy !== undefined).map((r) => [x(r.epoch), yAcc(r.trainAccuracy!)] as [number, number]);
  const test = rows.filter((r) => r.testAccuracy !== undefined).map((r) => [x(r.epoch), yAcc(r.testAccuracy!)] as [number, number]);
  const valLoss = rows.filter((r) => r.valLoss !== undefined && Number.isFinite(r.valLoss)).map((r) => [x(r.epoch), yLoss(r.valLoss!)] as [number, number]);
  const valAcc = rows.filter((r) => r.valAccuracy !== undefined).map((r) => [x(r.epoch), yAcc(r.valAccuracy!)] as [number, number]);
  // The validation curves and their legend only in a run with --validation: other plots stay as they were.
  const hasVal = valLoss.length + valAcc.length > 0;
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const f = i / 5;
    const y = M.top + ih * (1 - f);
    ticks.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    ticks.push(`<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${+(maxLoss * f).toPrecision(3)}</text>`);
    ticks.push(`<text x="${M.left + iw + 8}" y="${y + 4}">${f.toFixed(1)}</text>`);
  }
  // Epoch ticks at round numbers (1, 50, 100, …), about five of them.
  const step = Math.max(1, niceMax(maxEpoch / 5));
  for (const e of [1, ...Array.from({ length: Math.floor(maxEpoch / step) }, (_, i) => (i + 1) * step)]) {
    if (e !== 1 && e - 1 < step / 3) continue; // too close to the first tick
    ticks.push(`<text x="${x(e)}" y="${M.top + ih + 18}" text-anchor="middle">${e}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...ticks,
    `<rect x="${M.left}" y="${M.top}" width="${iw}" height="${ih}" fill="none" stroke="#111827"/>`,
    `<text x="${M.left + iw / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`,
    `<text transform="translate(16 ${M.top + ih / 2}) rotate(-90)" text-anchor="middle" fill="#b91c1c">loss</text>`,
    `<text transform="translate(${W - 14} ${M.top + ih / 2}) rotate(90)" text-anchor="middle" fill="#1d4ed8">accuracy</text>`,
    line(loss, "#b91c1c"),
    line(train, "#1d4ed8", "6 4"),
    line(test, "#1d4ed8"),
    line(valLoss, "#b91c1c", "2 3"),
    line(valAcc, "#047857", "2 3"),
    // The legend sits between the title and the plot, clear of the curves.
    `<g transform="translate(${M.left + iw / 2 - (hasVal ? 300 : 200)} ${M.top - 14})">`,
    `<line x1="0" x2="24" y1="0" y2="0" stroke="#b91c1c" stroke-width="2"/><text x="30" y="4">training loss</text>`,
    `<line x1="130" x2="154" y1="0" y2="0" stroke="#1d4ed8" stroke-width="2" stroke-dasharray="6 4"/><text x="160" y="4">train accuracy</text>`,
    `<line x1="270" x2="294" y1="0" y2="0" stroke="#1d4ed8" stroke-width="2"/><text x="300" y="4">test accuracy</text>`,
    hasVal ? `<line x1="390" x2="414" y1="0" y2="0" stroke="#b91c1c" stroke-width="2" stroke-dasharray="2 3"/><text x="420" y="4">val loss</text>` : "",
    hasVal ? `<line x1="480" x2="504" y1="0" y2="0" stroke="#047857" stroke-width="2" stroke-dasharray="2 3"/><text x="510" y="4">val accuracy</text>` : "",
    `</g>`,
    "</svg>",
    "",
  ].join("\n");
}
