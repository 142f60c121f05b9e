// What identifies a training run, so that --resume continues only the run a
// checkpoint belongs to: hashes of the model's graph, of its train statement
// and of the data, with the seed and batch size (see RunIdentity).
import { createHash } from "node:crypto";
import type { Dataset } from "../data/dataset.ts";
import type { GradGraph } from "../ir/graph.ts";
import type { RunIdentity } from "./files.ts";
import { SCHEDULE_OPTIONS } from "../ir/train-schedule.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

/**
 * The forward graph as it computes: ops, arguments, attributes (initializers
 * included), names, shapes and element types, but no source positions, so a
 * comment or a blank line changes nothing and another op does.
 */
export function graphHash(g: GradGraph): string {
  const nodes = g.nodes.slice(0, g.forwardCount).map((n) => [n.op, n.args, n.attrs, n.name ?? null, g.shapes[n.id], g.dtypes[n.id]]);
  const names = (ds: readonly { name: string; node: number }[]) => ds.map((d) => [d.name, d.node]);
  return sha(
    JSON.stringify({
      model: g.modelName,
      dims: g.dims.map((d) => [d.name, d.default ?? null]),
      nodes,
      inputs: names(g.inputs),
      targets: names(g.targets),
      params: names(g.params),
      outputs: names(g.outputs),
      loss: g.loss?.node ?? null,
    }),
  );
}

/** The train statement's optimizer and options, but those --resume treats on their own: epochs (more may be asked for), batch (compared as used), lr and the schedule (noted). */
export function trainStatementHash(g: GradGraph): string {
  const options = g.train ? [...g.train.options].filter(([k]) => !["epochs", "batch", "lr", ...SCHEDULE_OPTIONS].includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  return sha(JSON.stringify([g.train?.optimizer ?? null, options]));
}

/** Hash of every column of the training and test sets, in name order. */
export function dataHash(train: Dataset, test: Dataset | undefined): string {
  const h = createHash("sha256");
  for (const [part, set] of [["train", train], ["test", test]] as const) {
    if (!set) continue;
    h.update(`${part}:${set.rows}\n`);
    for (const name of [...set.columns.keys()].sort()) {
      const col = set.columns.get(name)!;
      h.update(`${name}:${col.constructor.name}:${col.length}\n`);
      h.update(new Uint8Array(col.buffer, col.byteOffset, col.byteLength));
    }
  }
  return h.digest("hex").slice(0, 32);
}

/** How the rows are fed and judged: each one changes the numbers, so --resume compares them too. */
export interface Feeding {
  shuffle: boolean;
  validation: number;
  monitor: string;
}

export function runIdentity(g: GradGraph, seed: number, batch: number, data: string, train: Dataset, test: Dataset | undefined, feeding: Feeding): RunIdentity {
  return { graph: graphHash(g), trainStatement: trainStatementHash(g), seed, batch, data, dataHash: dataHash(train, test), ...feeding };
}
