// Text from a source file (its name, its lines) reaches emitted comments of
// both targets only through commentText: no character that TypeScript or
// WGSL reads as a line break, and no bidirectional control, survives.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commentText } from "../src/backend/comment.ts";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { lower } from "../src/lower/lower.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

/** Every code point the brief names: C0, DEL and C1 controls, the line and paragraph separators, bidi controls. */
const UNSAFE = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
  0x2028,
  0x2029,
  0x200e,
  0x200f,
  ...Array.from({ length: 5 }, (_, i) => 0x202a + i),
  ...Array.from({ length: 4 }, (_, i) => 0x2066 + i),
].map((c) => String.fromCodePoint(c));

const MODEL = "model m\ndim batch\ninput x: [batch, 3]\ntarget y: [batch, 2]\nparam W: [3, 2]\nparam b: [2]\np = tanh(x W + b)\noutput p\nloss = mse(p, y)\n";

function emitted(path: string, text: string): { ts: string; wgsl: string; gpuTs: string } {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  const plan = lower(r.grad);
  const gpu = emitWebgpuModule(r.grad, plan);
  return { ts: emitCpuModule(r.grad, plan), wgsl: gpu.wgsl, gpuTs: gpu.code };
}

/** The unsafe code points in emitted code, but the line feed that separates its lines. */
const found = (code: string) => UNSAFE.filter((c) => c !== "\n" && code.includes(c)).map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);

describe("comments in emitted code", () => {
  it("commentText replaces every unsafe code point and keeps the rest", () => {
    expect(found(commentText(UNSAFE.join("a")))).toEqual([]);
    expect(commentText(`a${UNSAFE.join("")}b`)).toBe(`a${" ".repeat(UNSAFE.length)}b`);
    expect(commentText("tanh(x W + b) é ∑ 😀")).toBe("tanh(x W + b) é ∑ 😀");
  });

  it("carry none of them from a file name, for both targets", () => {
    const name = `models/${UNSAFE.join("")}odd.nn`;
    const { ts, wgsl, gpuTs } = emitted(name, MODEL);
    // The name does reach the comments (sanitized), so the check is not vacuous.
    expect(ts).toContain("odd.nn:7");
    expect(wgsl).toContain("odd.nn:7");
    expect(found(ts)).toEqual([]);
    expect(found(wgsl)).toEqual([]);
    expect(found(gpuTs)).toEqual([]);
    // Each one became a space, a line feed included: the same code as from the name written with spaces.
    const spaced = emitted(name.replace(/[^ -~]/g, (c) => (UNSAFE.includes(c) ? " " : c)), MODEL);
    expect(ts).toBe(spaced.ts);
    expect(wgsl).toBe(spaced.wgsl);
    expect(gpuTs).toBe(spaced.gpuTs);
  });

  it("carry none of them from any file name (property)", () => {
    const unsafe = fc.constantFrom(...UNSAFE);
    const name = fc.array(fc.oneof(unsafe, fc.constantFrom("a", " ", "/", "é", "#")), { minLength: 1, maxLength: 12 }).map((cs) => `${cs.join("")}.nn`);
    fc.assert(
      fc.property(name, (path) => {
        const { ts, wgsl, gpuTs } = emitted(path, MODEL);
        return found(ts).length === 0 && found(wgsl).length === 0 && found(gpuTs).length === 0;
      }),
      { numRuns: 15 },
    );
  });

  it("carry none of them from a source line that the front end accepts", () => {
    for (const c of UNSAFE) {
      const text = MODEL.replace("p = tanh(x W + b)", `p = tanh(x W + b) ${c}`);
      const r = runGrad("line.nn", text);
      if (!r.grad) continue; // refused with a diagnostic: nothing reaches the emitted code
      const { ts, wgsl, gpuTs } = emitted("line.nn", text);
      expect(found(ts), `U+${c.codePointAt(0)!.toString(16)}`).toEqual([]);
      expect(found(wgsl)).toEqual([]);
      expect(found(gpuTs)).toEqual([]);
    }
  });
});
