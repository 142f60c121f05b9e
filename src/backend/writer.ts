// An indent-aware text writer for emitters: code is written line by line
// with explicit blocks, never assembled from ad-hoc string concatenation.
import { commentText } from "./comment.ts";

export class Writer {
  private readonly lines: string[] = [];
  private depth = 0;

  constructor(private readonly unit = "  ") {}

  line(text = ""): this {
    this.lines.push(text === "" ? "" : this.unit.repeat(this.depth) + text);
    return this;
  }

  lines_(texts: readonly string[]): this {
    for (const t of texts) this.line(t);
    return this;
  }

  /** `open` then an indented body then `close`. */
  block(open: string, body: () => void, close = "}"): this {
    this.line(open);
    this.depth++;
    body();
    this.depth--;
    this.line(close);
    return this;
  }

  indent(body: () => void): this {
    this.depth++;
    body();
    this.depth--;
    return this;
  }

  /**
   * A `//` comment, wrapped at 100 columns, one per line of `text`. Each line
   * goes through commentText, so no text from a source file can end the
   * comment and become code.
   */
  comment(text: string): this {
    for (const para of text.split("\n")) {
      let rest = commentText(para);
      while (rest.length > 96) {
        const cut = rest.lastIndexOf(" ", 96);
        const at = cut > 20 ? cut : 96;
        this.line(`// ${rest.slice(0, at)}`);
        rest = rest.slice(at + 1);
      }
      this.line(rest === "" ? "//" : `// ${rest}`);
    }
    return this;
  }

  /** The lines written so far, indented as written. */
  written(): readonly string[] {
    return this.lines;
  }

  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}
