// TypeScript runtime declarations as plain JavaScript, for the code a helper
// thread runs from source text (a Worker evaluates JavaScript, and Node 20
// has no type stripping of its own). It handles what the runtime's kernels
// are written in: comments, interfaces and type aliases, and type
// annotations on function parameters and results and on local variables. Bodies must be plain
// JavaScript already; the result is parsed, so anything else is an error
// here and not in a helper thread.

/** Source without its comments; string contents are kept as they are. */
function withoutComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"' || ch === "'" || ch === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (text.startsWith("//", i)) {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (text.startsWith("/*", i)) {
      i = text.indexOf("*/", i + 2) + 1;
    } else out += ch;
  }
  // Lines that held only a comment go away with it.
  return out.replace(/[ \t]+$/gm, "").replace(/\n{2,}/g, "\n").trim();
}

/** Splits at the commas outside any brackets. */
function topLevelCommas(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if ("([{<".includes(ch)) depth++;
    else if (")]}".includes(ch) || (ch === ">" && text[i - 1] !== "=")) depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

/** `name?: Type = value` → `name = value`. */
function parameter(param: string): string {
  const name = /^(\.\.\.)?[A-Za-z_$][\w$]*/.exec(param)![0];
  const value = /\s=\s([\s\S]*)$/.exec(param);
  return value ? `${name} = ${value[1]}` : name;
}

/** One top-level declaration of a runtime file as JavaScript; "" for a type-only one. */
export function stripTypes(declaration: string): string {
  const text = withoutComments(declaration);
  if (/^(interface|type) /.test(text)) return "";
  const head = /^function ([\w$]+)\(/.exec(text);
  if (!head) return text;
  // The parameter list ends at the parenthesis that closes the one after the name.
  let depth = 1;
  let i = head[0].length;
  for (; depth > 0; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")") depth--;
  }
  const params = topLevelCommas(text.slice(head[0].length, i - 1)).map(parameter);
  const body = text
    .slice(i)
    .replace(/^\s*:[^{]*/, " ")
    // Annotated locals: `const pack: number[] = []`.
    .replace(/\b(const|let) ([\w$]+): [^=;]+ =(?=[^>=])/g, "$1 $2 =");
  return `function ${head[1]}(${params.join(", ")})${body.startsWith(" ") ? "" : " "}${body}`;
}

/** The declarations as one JavaScript script, checked to parse. */
export function toJavaScript(declarations: readonly string[]): string {
  const js = declarations.map(stripTypes).filter((d) => d !== "").join("\n");
  try {
    new Function(js);
  } catch (e) {
    throw new Error(`internal: the runtime's helper-thread code is not plain JavaScript once its types are removed: ${(e as Error).message}`);
  }
  return js;
}
