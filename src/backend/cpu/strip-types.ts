// TypeScript runtime declarations as plain JavaScript, for the code a helper
// thread runs from source text: a Worker evaluates JavaScript, and Node 20
// has no type stripping of its own. esbuild (which tsx already brings) does
// the stripping; the result is parsed here, so a problem is an error at
// compile time and not inside a helper thread.
import { transformSync } from "esbuild";

/** The declarations as one JavaScript script, checked to parse. */
export function toJavaScript(declarations: readonly string[]): string {
  const js = transformSync(declarations.join("\n\n"), { loader: "ts", target: "es2022", legalComments: "none" }).code;
  try {
    new Function(js);
  } catch (e) {
    throw new Error(`internal: the runtime's helper-thread code is not plain JavaScript once its types are removed: ${(e as Error).message}`);
  }
  return js;
}
