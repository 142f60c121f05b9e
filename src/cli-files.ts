// The file-system side of every command: reading the files a user names and
// writing the ones nnc produces. A failure is a coded diagnostic (NNC509)
// naming the path, what went wrong in words and what to do, never a Node
// stack trace. `-` as a .nn file reads standard input; as `-o` it writes to
// standard output.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import type { DiagCode } from "./diag/codes.ts";

/** An error the command line prints as `error[CODE]: message` with a help line, then exits with `exit`. */
export class CodedError extends Error {
  constructor(
    readonly code: DiagCode,
    message: string,
    readonly help: string,
    readonly exit: 1 | 2 = 1,
  ) {
    super(message);
  }

  render(): string {
    return `error[${this.code}]: ${this.message}\n  = help: ${this.help}\n`;
  }
}

/** The reason a file-system call failed, in words. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "EEXIST":
      return "it exists and is not a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on the device";
    case "ELOOP":
      return "too many symbolic links";
    default:
      return (e as Error).message;
  }
}

/** Whether `e` is an error of a file-system call (it carries an errno code). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string";
}

export function readError(path: string, e: unknown, what = "file"): CodedError {
  return new CodedError("NNC509", `cannot read ${shownPath(path)}: ${fsReason(e)}`, `check that the path names the ${what}, and that you may read it`, 2);
}

export function writeError(path: string, e: unknown, help = "give the path of a file (not a directory) in an existing directory you can write to"): CodedError {
  return new CodedError("NNC509", `cannot write ${shownPath(path)}: ${fsReason(e)}`, help, 2);
}

/** A text file the user named; `-` is standard input. */
export function readTextFile(path: string, what = ".nn file"): string {
  try {
    if (path === "-") return readFileSync(0, "utf8");
    if (statSync(path).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR", syscall: "read" });
    return readFileSync(path, "utf8");
  } catch (e) {
    throw readError(path === "-" ? "standard input" : path, e, what);
  }
}

/** A binary file the user named (a checkpoint); standard input is refused, since it cannot be told apart from a file named `-`. */
export function readBinaryFile(path: string, what: string): Uint8Array {
  if (path === "-") throw new CodedError("NNC509", `cannot read a ${what} from standard input`, `name the ${what}'s file`, 2);
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR", syscall: "read" });
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw readError(path, e, what);
  }
}

/** Writes an output file the user named; `-` is standard output. */
export function writeOutputFile(path: string, text: string): void {
  if (path === "-") {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw writeError(path, e);
  }
}

/**
 * A path as nnc shows it in diagnostics and in emitted comments: control
 * characters, Unicode line and paragraph separators, NEL and bidirectional
 * controls are written as `\u{…}`, so no file name can end a comment in a
 * generated module or rearrange a terminal line. `-` is standard input.
 */
export function shownPath(path: string): string {
  if (path === "-") return "<stdin>";
  return path.replace(/[\p{Cc}\u0085\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
