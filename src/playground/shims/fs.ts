// node:fs for the compiler bundled into a browser Worker. The compiler reads
// only its own runtime sources (the kernels an emitted module carries); the
// build embeds those files, keyed by their path in the repository, as
// __NNC_RUNTIME_FILES__, and rewrites import.meta.dirname to match.
declare const __NNC_RUNTIME_FILES__: Record<string, string>;

const files = (): Record<string, string> => __NNC_RUNTIME_FILES__;

export function readFileSync(path: string): string {
  const text = files()[path];
  if (text === undefined) throw new Error(`internal: ${path} is not bundled into the playground`);
  return text;
}

export function readdirSync(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  return Object.keys(files())
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
    .map((p) => p.slice(prefix.length));
}
