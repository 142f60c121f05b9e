// Every command's file arguments through missing, directory, unreadable and
// read-only cases: each is a coded diagnostic naming the path and what to
// do, never a stack trace (issue 17, part 3). And the module cache: private
// to its user, never written through a link, importing only what was just
// compiled (part 8).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileAndLoad, privateCacheDir } from "../src/train/compile.ts";
import { runGrad } from "../src/pipeline.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-files-"));
const isRoot = process.getuid?.() === 0;

function nnc(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, input, env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(dir, "cache") } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking: the walk over every file argument runs a few commands at a time. */
function nncAsync(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(dir, "cache") }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? -1, stderr }));
  });
}

const MODEL = join(dir, "m.nn");
writeFileSync(MODEL, "model m\ndim batch\ninput x: [batch, 784]\ntarget y: [batch, 10]\nparam W: [784, 10] = zeros\np = softmax(x W)\noutput p\nloss = cross_entropy(p, y)\n");
const MISSING = join(dir, "missing", "m.nn");
const A_DIR = join(dir, "a-dir");
mkdirSync(A_DIR);
const A_FILE = join(dir, "a-file.txt");
writeFileSync(A_FILE, "not a directory\n");

/** A file nobody may read, and a directory nobody may write to: chmod does not stop root, so root gets /sys, which refuses even root. */
const unreadable = isRoot ? undefined : join(dir, "secret.nn");
if (unreadable) {
  writeFileSync(unreadable, readFileSync(MODEL));
  chmodSync(unreadable, 0);
}
const readOnlyDir = isRoot ? "/sys" : join(dir, "read-only");
if (!isRoot) {
  mkdirSync(readOnlyDir);
  chmodSync(readOnlyDir, 0o555);
}
if (isRoot) console.warn("cli-files.test.ts: running as root, which reads any file: the unreadable-file cases are skipped; read-only cases use /sys");
const readOnlyWorks = (() => {
  try {
    writeFileSync(join(readOnlyDir, "probe"), "");
    return false;
  } catch {
    return true;
  }
})();
if (!readOnlyWorks) console.warn(`cli-files.test.ts: ${readOnlyDir} is writable here: the read-only cases are skipped`);

const NO_TRACE = /\n\s+at .*\(|node:internal/;

/** [case, arguments, the reason the message must give, the path it must name]: what every command does with a bad file argument. */
const inputs = ["check", "graph", "grad", "compile", "gradcheck", "train", "eval", "predict"].flatMap((cmd) => {
  const extra = cmd === "eval" || cmd === "predict" ? ["--checkpoint", A_FILE] : cmd === "train" ? ["--out", join(dir, "never")] : [];
  const cases: [string, string[], string, string][] = [
    [`${cmd}: a missing .nn file`, [cmd, MISSING, ...extra], "no such file or directory", MISSING],
    [`${cmd}: a directory as .nn file`, [cmd, A_DIR, ...extra], "it is a directory", A_DIR],
  ];
  if (unreadable) cases.push([`${cmd}: an unreadable .nn file`, [cmd, unreadable, ...extra], "permission denied", unreadable]);
  return cases;
});

const outputs: [string, string[], string, string][] = [
  ["compile -o DIR", ["compile", MODEL, "-o", A_DIR], "it is a directory", A_DIR],
  ["compile -o missing/dir/m.ts", ["compile", MODEL, "-o", join(dir, "missing", "dir", "m.ts")], "no such file or directory", join(dir, "missing", "dir", "m.ts")],
  ["compile --wgsl DIR", ["compile", MODEL, "--target", "webgpu", "--wgsl", A_DIR, "-o", join(dir, "w.ts")], "it is a directory", A_DIR],
  ["train --out FILE", ["train", MODEL, "--out", A_FILE], "exists and is not a directory", A_FILE],
  ["eval --checkpoint DIR", ["eval", MODEL, "--checkpoint", A_DIR], "it is a directory", A_DIR],
  ["eval --checkpoint missing", ["eval", MODEL, "--checkpoint", join(dir, "none.nnck")], "no such file or directory", join(dir, "none.nnck")],
  ["predict --checkpoint DIR", ["predict", MODEL, "--checkpoint", A_DIR], "it is a directory", A_DIR],
  ["eval --checkpoint -", ["eval", MODEL, "--checkpoint", "-"], "cannot read a checkpoint from standard input", ""],
];
if (readOnlyWorks) {
  outputs.push(["compile -o in a read-only directory", ["compile", MODEL, "-o", join(readOnlyDir, "m.ts")], "denied", join(readOnlyDir, "m.ts")]);
  outputs.push(["train --out in a read-only directory", ["train", MODEL, "--limit", "10", "--out", join(readOnlyDir, "run")], "denied", join(readOnlyDir, "run")]);
}
if (unreadable) outputs.push(["eval: an unreadable checkpoint", ["eval", MODEL, "--checkpoint", unreadable], "permission denied", unreadable]);

describe("file arguments", () => {
  it.concurrent.each([...inputs, ...outputs])("%s: a coded error naming the path, no stack trace", async (_, args, reason, path) => {
    const r = await nncAsync(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[NNC509\]: /);
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toMatch(/= help: /);
    expect(r.stderr).not.toMatch(NO_TRACE);
  });

  it("reads a .nn file from standard input as `-`, and writes -o - to standard output", () => {
    const r = nnc(["compile", "-", "-o", "-"], readFileSync(MODEL, "utf8"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("export function createModel");
    const bad = nnc(["check", "-"], "model m\ny = rleu(1)\n");
    expect(bad.stderr).toMatch(/<stdin>:2:5/);
  });

  it("shows a file name holding U+0085 or U+2028 escaped, in diagnostics and in both targets' comments", () => {
    for (const ch of ["\u0085", "\u2028", "\u202e"]) {
      const name = join(dir, `evil${ch}name.nn`);
      writeFileSync(name, readFileSync(MODEL));
      for (const target of ["cpu", "webgpu"]) {
        const r = nnc(["compile", name, "--target", target]);
        expect(r.code).toBe(0);
        expect(r.stdout).not.toContain(ch);
        expect(r.stdout).toContain(`evil\\u{${ch.codePointAt(0)!.toString(16)}}name.nn`);
      }
      writeFileSync(name, "model m\ny = rleu(1)\n");
      const c = nnc(["check", name]);
      expect(c.stderr).not.toContain(ch);
    }
  });
});

describe("the module cache", () => {
  const g = runGrad("m.nn", readFileSync(MODEL, "utf8")).grad!;

  it("is a directory of the user's own, mode 0700, under $XDG_CACHE_HOME", () => {
    const home = join(dir, "xdg");
    const at = privateCacheDir(join(home, "nnc", "modules"));
    const st = lstatSync(at);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid?.());
  });

  it("closes a directory of the user's own that others could write to", () => {
    const open = join(dir, "open-cache");
    mkdirSync(open);
    chmodSync(open, 0o777);
    privateCacheDir(open);
    expect(lstatSync(open).mode & 0o777).toBe(0o700);
  });

  it("refuses a symbolic link, or a directory of another user", () => {
    const target = join(dir, "elsewhere");
    mkdirSync(target);
    const link = join(dir, "link-cache");
    symlinkSync(target, link);
    expect(() => privateCacheDir(link)).toThrow(/not private: it is a symbolic link/);
    if (isRoot) {
      const theirs = join(dir, "their-cache");
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 4321, 4321);
      expect(() => privateCacheDir(theirs)).toThrow(/not private: it belongs to user 4321/);
    } else console.warn("cli-files.test.ts: not root, so no directory of another user can be made: that case is skipped");
  });

  it("never writes through a planted link, replaces a tampered file, and imports only the code just compiled", async () => {
    const cache = join(dir, "cache-plant");
    process.env["NNC_CACHE_DIR"] = cache;
    try {
      const first = await compileAndLoad(g);
      const [name] = readdirSync(cache).filter((f) => f.endsWith(".mts"));
      // Another file planted under the module's name: a link to a victim, then other code.
      const victim = join(dir, "victim.txt");
      writeFileSync(victim, "precious\n");
      const path = join(cache, name!);
      rmSync(path);
      symlinkSync(victim, path);
      const second = await compileAndLoad(g);
      expect(readFileSync(victim, "utf8")).toBe("precious\n");
      expect(lstatSync(path).isSymbolicLink()).toBe(false);
      expect(readFileSync(path, "utf8")).toBe(second.code);
      expect(second.code).toBe(first.code);
      expect(typeof second.mod.createModel).toBe("function");
      writeFileSync(path, "export const planted = true;\n");
      await compileAndLoad(g);
      expect(readFileSync(path, "utf8")).toBe(first.code);
      expect(readdirSync(cache).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    } finally {
      delete process.env["NNC_CACHE_DIR"];
    }
  });

  it("eval and predict leave no .cache in the working directory", () => {
    expect(existsSync(join(dir, ".cache"))).toBe(false);
  });
});
