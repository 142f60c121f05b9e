// Every diagnostic code nnc can emit, with a one-line summary. Ranges:
// 1xx syntax, 2xx names and shapes, 3xx differentiation, 4xx code generation,
// 5xx runtime (data, checkpoints). docs/diagnostics.md is generated from this
// table's meaning; a test keeps the two in step.

export const DIAG_CODES = {
  NNC101: "unexpected character",
  NNC102: "syntax error",
  NNC103: "a number cannot be juxtaposed (juxtaposition is a matrix product)",
  NNC104: "unterminated string",
  NNC105: "invalid number",
  NNC106: "unknown attribute (only `.T` exists)",
  NNC107: "a keyword used as a name",
  NNC201: "matrix product: inner dimensions differ",
  NNC202: "shapes cannot be broadcast together",
  NNC203: "unknown name",
  NNC204: "unknown function",
  NNC205: "name defined twice",
  NNC206: "wrong number of arguments",
  NNC207: "unknown or repeated keyword argument",
  NNC208: "axis out of range",
  NNC209: "the loss must be a scalar",
  NNC210: "cannot infer `_`",
  NNC211: "conflicting sizes for one dimension",
  NNC212: "declared but never used",
  NNC213: "name used before its definition",
  NNC214: "argument must be a constant of another kind",
  NNC215: "wrong element type (int vs float)",
  NNC216: "invalid shape for this operation",
  NNC217: "recursive `fn`",
  NNC218: "invalid declaration",
  NNC219: "invalid `train` statement",
  NNC220: "wrong rank for this operation",
  NNC221: "shapes must be equal",
  NNC301: "no derivative rule for a gradient that is needed",
  NNC302: "a param gets no gradient",
  NNC303: "nothing to differentiate",
  NNC304: "cannot differentiate with respect to this value",
} as const;

export type DiagCode = keyof typeof DIAG_CODES;
