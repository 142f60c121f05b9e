// esbuild's transformSync for the compiler in a browser Worker, where esbuild
// (a native binary) cannot run: sucrase removes TypeScript's types
// synchronously in plain JavaScript. The emitted modules use only erasable
// TypeScript (annotations, interfaces, type aliases), which sucrase covers.
import { transform } from "sucrase";

export function transformSync(code: string, _options?: unknown): { code: string } {
  return { code: transform(code, { transforms: ["typescript"], disableESTransforms: true }).code };
}
