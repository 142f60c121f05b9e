// `nnc sample CHECKPOINT`: text from a trained character model (examples/gpt.nn).
// The run directory nnc train wrote holds what it needs: the checkpoint, the
// vocabulary (vocab.json) and the emitted CPU module (model.ts), which is
// imported as it is. The model must read int[batch, block] token ids and put
// out [batch, block, vocab] scores of the next token. Each new token is
// drawn from softmax(scores / temperature) at the last position of the
// context (its last `block` tokens): the context sits at the start of the
// window, the rest padded, which the causal mask keeps from mattering.
// Errors: NNC545 checkpoint, NNC546 vocabulary, NNC547 module, NNC548 not a
// language model, NNC549 a prompt or option sampling cannot use.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { parseCheckpoint, type CheckpointHeader } from "./backend/cpu/runtime/checkpoint.ts";
import { CodedError, readBinaryFile, readTextFile, shownPath } from "./cli-files.ts";
import { parseSeed } from "./cli-common.ts";
import { parseVocabulary, PAD, UNK, VOCABULARY_FILE } from "./data/text.ts";
import { OUT_FILES } from "./train/files.ts";
import { loadModuleCode, type CompiledModule } from "./train/compile.ts";

export interface SampleOptions {
  tokens: number;
  temperature: number;
  seed: number;
  prompt: string;
}

/** mulberry32: a small seeded generator, so a seed gives the same text every time. */
function random(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The next token from one position's scores: the argmax at temperature 0,
 * else a draw from softmax(scores / temperature). <pad> and <unk> (ids 0, 1)
 * are never drawn: they stand for no character.
 */
export function pickToken(scores: ArrayLike<number>, temperature: number, next: () => number): number {
  let best = 2;
  for (let j = 3; j < scores.length; j++) if (scores[j]! > scores[best]!) best = j;
  if (temperature === 0) return best;
  const weights = new Float64Array(scores.length);
  let total = 0;
  for (let j = 2; j < scores.length; j++) total += weights[j] = Math.exp((scores[j]! - scores[best]!) / temperature);
  let u = next() * total;
  for (let j = 2; j < scores.length; j++) if ((u -= weights[j]!) <= 0) return j;
  return best;
}

function checkpointHeader(path: string, bytes: Uint8Array): CheckpointHeader {
  try {
    return parseCheckpoint(bytes).header;
  } catch (e) {
    throw new CodedError("NNC545", `${shownPath(path)}: not a checkpoint nnc can read: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}`, "give the checkpoint.nnck or best.nnck that nnc train wrote");
  }
}

async function loadModule(dir: string): Promise<CompiledModule> {
  const path = join(dir, OUT_FILES.module);
  if (!existsSync(path)) {
    throw new CodedError("NNC547", `${shownPath(dir)} holds no ${OUT_FILES.module}, the module nnc train wrote beside the checkpoint`, "sample from a run directory of nnc train, which holds the checkpoint, vocab.json and model.ts");
  }
  try {
    return await loadModuleCode(readTextFile(path, "module"));
  } catch (e) {
    throw new CodedError("NNC547", `${shownPath(path)}: cannot load the module: ${(e as Error).message}`, "train again to rewrite it");
  }
}

/** Generated text: the prompt, then `tokens` characters drawn from the model. */
export async function sampleText(checkpoint: string, o: SampleOptions): Promise<string> {
  const bytes = readBinaryFile(checkpoint, "checkpoint");
  const header = checkpointHeader(checkpoint, bytes);
  const dir = dirname(checkpoint);
  const vocabPath = join(dir, VOCABULARY_FILE);
  if (!existsSync(vocabPath)) {
    throw new CodedError("NNC546", `${shownPath(dir)} holds no ${VOCABULARY_FILE}: the ids the model was trained with are unknown`, "sample from the run directory of a model trained on text (nnc train --data fortunes)");
  }
  let vocabulary: string[];
  try {
    vocabulary = parseVocabulary(readTextFile(vocabPath), shownPath(vocabPath));
  } catch (e) {
    throw new CodedError("NNC546", (e as Error).message, "train again to rewrite it");
  }
  const mod = await loadModule(dir);
  const block = header.dims["block"];
  if (block === undefined) throw new CodedError("NNC548", `${shownPath(checkpoint)}: the model has no \`block\` dim; nnc sample runs a language model whose input is int[batch, block]`, "see examples/gpt.nn");
  const created = mod.createModel({ dims: { ...header.dims, batch: 1 }, seed: o.seed });
  if (created instanceof Promise) {
    throw new CodedError("NNC547", `${shownPath(join(dir, OUT_FILES.module))} is a WebGPU module; nnc sample runs the CPU module`, "train with --target cpu (the default) to sample");
  }
  const model = created;
  // The text goes into the model's one integer input of [batch, block] ids, whatever its name.
  const inputs = (mod.spec as { inputs?: readonly { name: string; shape: readonly (string | number)[]; dtype: string }[] }).inputs ?? [];
  const idsInput = inputs.length === 1 && inputs[0]!.dtype === "i32" && inputs[0]!.shape.length === 2 ? inputs[0]!.name : undefined;
  if (idsInput === undefined) throw new CodedError("NNC548", `${shownPath(checkpoint)}: the model's input is not one int[batch, block] of token ids`, "see examples/gpt.nn");
  try {
    await model.loadCheckpoint(bytes);
  } catch (e) {
    throw new CodedError("NNC545", `${shownPath(checkpoint)}: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}`, "use the checkpoint of the run whose model.ts is beside it");
  }
  const ids = new Map(vocabulary.map((c, i) => [c, i]));
  const context: number[] = [];
  for (const c of o.prompt) {
    const id = ids.get(c);
    if (id === undefined || c === PAD || c === UNK) {
      throw new CodedError("NNC549", `--prompt: the character ${JSON.stringify(c)} is not in the model's vocabulary`, `the vocabulary (${shownPath(vocabPath)}) holds ${vocabulary.length - 2} characters`);
    }
    context.push(id);
  }
  // With no prompt, start as a fortune does: after a blank line.
  if (context.length === 0) context.push(ids.get("\n") ?? 2);
  const next = random(o.seed);
  const window = new Int32Array(block);
  let out = o.prompt;
  for (let t = 0; t < o.tokens; t++) {
    const seen = context.slice(-block);
    window.fill(0);
    window.set(seen);
    const outputs = await model.forward({ [idsInput]: window });
    const scores = Object.values(outputs)[0];
    const width = scores ? scores.length / block : 0;
    if (!scores || !Number.isInteger(width) || width !== vocabulary.length && width < vocabulary.length) {
      throw new CodedError("NNC548", `the model's output is not [batch, block, vocab] scores of the next token`, "see examples/gpt.nn");
    }
    const id = pickToken(scores.subarray((seen.length - 1) * width, seen.length * width), o.temperature, next);
    context.push(id);
    out += vocabulary[id] ?? "";
  }
  return out;
}

function number(name: string, check: (n: number) => boolean, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !check(n)) throw new CodedError("NNC549", `${name} expects ${what}, got \`${v}\``, `for example ${name} ${name === "--tokens" ? "200" : "0.8"}`, 2);
    return n;
  };
}

export function addSampleCommand(program: Command): void {
  program
    .command("sample")
    .description("generate text from a trained character model (its run directory: the checkpoint, vocab.json and model.ts)")
    .argument("<checkpoint>", "checkpoint.nnck or best.nnck written by nnc train")
    .option("--tokens <n>", "characters to generate", number("--tokens", (n) => Number.isSafeInteger(n) && n >= 1, "a whole number ≥ 1"), 200)
    .option("--temperature <t>", "0 picks the likeliest character; higher is more varied", number("--temperature", (n) => Number.isFinite(n) && n >= 0, "a number ≥ 0"), 0.8)
    .option("--seed <n>", "seed of the draws", (v) => parseSeed(v), 1)
    .option("--prompt <text>", "text to continue", "")
    .action(async (checkpoint: string, flags: SampleOptions) => {
      try {
        process.stdout.write((await sampleText(checkpoint, flags)) + "\n");
        process.exitCode = 0;
      } catch (e) {
        if (!(e instanceof CodedError)) throw e;
        process.stderr.write(e.render());
        process.exitCode = e.exit;
      }
    });
}
