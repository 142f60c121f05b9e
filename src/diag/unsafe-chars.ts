// Characters no `.nn` file may contain anywhere, comments and strings
// included. Comments and source lines are copied into emitted TypeScript and
// WGSL; each of these is a line break in one of those languages (so the rest
// of a copied comment would become code) or a control that hides or reorders
// text on screen ("Trojan Source"). The lexer rejects them (NNC108) rather than
// rewriting them, so that what a reviewer reads is what nnc compiles.
//
// Allowed: TAB, LF, and CR directly before LF (CRLF line endings).

/** Names of the characters that have one; the rest are shown by code point only. */
const NAMES: Readonly<Record<number, string>> = {
  0x0b: "LINE TABULATION",
  0x0c: "FORM FEED",
  0x0d: "CARRIAGE RETURN",
  0x85: "NEXT LINE",
  0x061c: "ARABIC LETTER MARK",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x2028: "LINE SEPARATOR",
  0x2029: "PARAGRAPH SEPARATOR",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
};

/**
 * Every unsafe character: C0 controls but TAB and LF, CR not followed by LF,
 * DEL and the C1 controls (NEL among them), the line and paragraph
 * separators, and the bidirectional controls. All are single UTF-16 units,
 * so replacing each by one character keeps every offset.
 */
export const UNSAFE_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

/** `U+2028 (LINE SEPARATOR)`, or `U+0001` for characters without a short name here. */
export function describeCodePoint(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  const name = NAMES[code];
  return name ? `${hex} (${name})` : hex;
}

/** The text with each unsafe character replaced by `?` (same length), for printing source lines. */
export function maskUnsafe(text: string): string {
  return text.replace(UNSAFE_CHAR, "?");
}
