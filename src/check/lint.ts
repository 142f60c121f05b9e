// Models that check but would train to a wrong answer without a word: found
// on the shaped graph and reported as warnings, so `nnc check`, `nnc
// gradcheck` and `nnc train` all give the same one answer.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { ShapedGraph } from "../ir/graph.ts";

/** Losses whose targets are one-hot rows (or distributions): a single column can only hold 1. */
const CLASS_LOSSES = {
  cross_entropy: "binary_cross_entropy(p, y)",
  softmax_cross_entropy: "binary_cross_entropy(sigmoid(z), y)",
  hinge: "binary_cross_entropy(sigmoid(s), y)",
} as const;

/**
 * A multiclass loss over one column (`cross_entropy(p, y)` with y: [batch, 1]):
 * its target row must be the one-hot [1], so every negative example (y = 0)
 * adds nothing; hinge's loss is always 0. A yes/no target wants binary
 * cross-entropy.
 */
export function lintLosses(g: ShapedGraph, bag: DiagnosticBag): void {
  for (const n of g.nodes) {
    if (!Object.hasOwn(CLASS_LOSSES, n.op)) continue;
    const target = g.shapes[n.args[1]!]!;
    if (target.length === 0 || target[target.length - 1] !== 1) continue;
    const op = n.op as keyof typeof CLASS_LOSSES;
    const effect = op === "hinge" ? "its loss is always 0" : "a row whose target is 0 adds nothing to the loss";
    bag.warning("NNC230", n.span, `\`${op}\` over a single column: its targets must be one-hot rows, and one column can only hold 1, so ${effect}`, {
      hint: `for a yes/no target use ${CLASS_LOSSES[op]}`,
    });
  }
}
