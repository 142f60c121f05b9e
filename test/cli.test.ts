// The `nnc` command as a user runs it: exit codes, --help, --version, formats.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VERSION } from "../src/version.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-cli-"));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const GOOD = file("good.nn", "dim batch\ninput x: [batch, 3]\nparam W: [3, 2]\ny = softmax(x W)\noutput y\n");
const BAD = file("bad.nn", "dim batch\ninput x: [batch, 3]\nparam W: [4, 2]\ny = softmax(x W)\nz = rleu(y)\noutput y, z\n");

describe("nnc check", () => {
  it("exits 0 on a clean file", () => {
    const r = nnc("check", GOOD);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("good.nn: ok");
  });

  it("exits 1 and reports every error", () => {
    const r = nnc("check", GOOD, BAD);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[NNC201]");
    expect(r.stderr).toContain("error[NNC204]");
    expect(r.stderr).toContain("bad.nn:4:13");
    expect(r.stderr).toContain("2 errors");
  });

  it("prints JSON diagnostics for tools", () => {
    const r = nnc("check", "--format", "json", BAD);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as { diagnostics: { code: string; span: { line: number } }[] };
    expect(json.diagnostics.map((d) => [d.code, d.span.line])).toEqual([
      ["NNC201", 4],
      ["NNC204", 5],
    ]);
  });

  it("exits 2 on usage errors", () => {
    expect(nnc("check").code).toBe(2);
    expect(nnc("check", join(dir, "missing.nn")).code).toBe(2);
    expect(nnc("check", "--format", "xml", GOOD).code).toBe(2);
    expect(nnc("frobnicate").code).toBe(2);
  });
});

describe("nnc graph", () => {
  it("prints the shaped IR, the same bytes every time", () => {
    const a = nnc("graph", GOOD);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain("y = softmax(%2, axis = -1)");
    expect(a.stdout).toMatch(/f32\[batch, 2\]\s+# line 4/);
    expect(nnc("graph", GOOD).stdout).toBe(a.stdout);
  });

  it("prints JSON", () => {
    const r = nnc("graph", "--format", "json", GOOD);
    const json = JSON.parse(r.stdout) as { nodes: { op: string; shape: unknown[] }[]; outputs: string[] };
    expect(json.outputs).toEqual(["y"]);
    expect(json.nodes.find((n) => n.op === "softmax")!.shape).toEqual(["batch", 2]);
  });

  it("exits 1 with diagnostics when the model has errors", () => {
    const r = nnc("graph", BAD);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
  });
});

describe("help and version", () => {
  it("prints the package version", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const r = nnc("--version");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it.each(["", "check", "graph", "grad", "gradcheck", "compile", "train", "eval", "predict"])("nnc %s --help", (command) => {
    const r = nnc(...(command === "" ? [] : [command]), "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(command === "" ? /Usage: nnc \[options\] \[command\]/ : new RegExp(`Usage: nnc ${command} `));
  });
});
