// Every document the README and docs/ point to lies inside the repository:
// a link to ../shared/docs (beside the project, not in it) broke for anyone
// with only the repository.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe.each(DOCS)("%s", (doc) => {
  const text = readFileSync(join(ROOT, doc), "utf8");

  it("links only to files inside the repository that exist", () => {
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
    for (const t of targets) {
      const path = resolve(dirname(join(ROOT, doc)), t);
      expect(relative(ROOT, path).startsWith(".."), `${doc} links outside the repository: ${t}`).toBe(false);
      expect(existsSync(path), `${doc} links to a missing file: ${t}`).toBe(true);
    }
  });

  it("names no path outside the repository", () => {
    expect(text).not.toMatch(/\.\.\/shared\//);
  });
});
