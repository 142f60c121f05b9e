// `nnc summary FILE`: the model's inputs, params and layers with their shapes,
// parameter counts, FLOPs and memory, and the totals (src/passes/summary.ts).
import { Option, type Command } from "commander";
import { checkDimNames, dimOption, formatBytes, readSource, report, useColor } from "./cli-common.ts";
import { shownPath } from "./cli-files.ts";
import { lower } from "./lower/lower.ts";
import { formatSummary, modelSummary } from "./passes/summary.ts";
import { runGrad } from "./pipeline.ts";

export function addSummaryCommand(program: Command): void {
  program
    .command("summary")
    .description("a table of every input, param and layer with its shape, parameter count, FLOPs and memory, and the totals (like Keras's model.summary())")
    .argument("<file>", ".nn file")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .addOption(dimOption("a size for a symbolic dim, e.g. --dim batch=100 (repeatable; others at their default, else 32)"))
    .option("--no-color", "plain diagnostics even on a terminal")
    .action((file: string, opts: { format: string; dim: Record<string, number>; color?: boolean }) => {
      // The backward graph too: the totals count a training step's FLOPs and memory.
      const result = runGrad(shownPath(file), readSource(file));
      if (report([result], "text", useColor(opts.color)) || !result.grad) {
        process.exitCode = 1;
        return;
      }
      const g = result.grad;
      checkDimNames(g.dims, opts.dim);
      const summary = modelSummary(g, lower(g), opts.dim);
      process.stdout.write(opts.format === "json" ? JSON.stringify(summary, null, 2) + "\n" : formatSummary(summary, formatBytes));
      process.exitCode = 0;
    });
}
