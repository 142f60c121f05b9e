// The one way text from a source file (its name, its lines, the user's
// names) enters a comment of emitted TypeScript or WGSL.

/**
 * Every character some target reads as a line break or that could make a
 * comment read differently than it runs: C0 and C1 controls (with NEL,
 * U+0085), DEL, the line and paragraph separators, and the bidirectional
 * controls (U+200E/F, U+202A–202E, U+2066–2069). JavaScript ends a `//`
 * comment at \r, U+2028 and U+2029, WGSL at more (NEL, vertical tab, form
 * feed); bidi controls reorder what a reader sees ("Trojan Source").
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text with each such character replaced by a space, safe to write after `//` in TypeScript or WGSL. */
export function commentText(text: string): string {
  return text.replace(UNSAFE, " ");
}
