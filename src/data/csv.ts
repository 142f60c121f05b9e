// Reader for numeric CSV files (one row per line, e.g. the "mnist_train.csv"
// that Kaggle ships: a label column then 784 pixels). Every cell must be a
// number; the error for one that is not names file:line:column, the way the
// compiler's own diagnostics do. Quoted cells are accepted (quotes stripped),
// but a quoted cell cannot span lines: numeric data never needs that.

import { DataError } from "./errors.ts";

export interface CsvOptions {
  /** "auto" (the default): the first line is a header when any of its cells is not a number. */
  header?: "auto" | boolean;
  /** One character; "," by default. */
  delimiter?: string;
}

export interface CsvTable {
  /** The header's names, or undefined when the file has none. */
  columns: string[] | undefined;
  rows: number;
  cols: number;
  /** rows × cols values, row by row. */
  data: Float64Array;
  /** The line of the file (from 1) that data row 0 came from: row r is on line firstLine + r. */
  firstLine: number;
}

// Plain decimal numbers only: Number() alone would also take "", " ", "0x1f" and "Infinity".
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

function splitLine(line: string, delimiter: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { cells.push(cell); cell = ""; }
    else cell += c;
  }
  if (quoted) throw new DataError("NNC502", `${file}:${lineNo}: a quoted cell is not closed on this line`, file);
  cells.push(cell);
  return cells;
}

function isNumber(cell: string): boolean {
  return NUMBER.test(cell.trim());
}

export function parseCsv(text: string, file: string, options: CsvOptions = {}): CsvTable {
  const delimiter = options.delimiter ?? ",";
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new DataError("NNC505", `${file}: the CSV delimiter must be one character other than a quote or newline; got ${JSON.stringify(delimiter)}`, file);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark some spreadsheet programs write
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop(); // trailing newlines are fine
  if (lines.length === 0) throw new DataError("NNC504", `${file}: the CSV file is empty`, file);

  const first = splitLine(lines[0]!, delimiter, file, 1);
  const header = options.header ?? "auto";
  const hasHeader = header === "auto" ? first.some((c) => c.trim() !== "" && !isNumber(c)) : header;
  const columns = hasHeader ? first.map((c) => c.trim()) : undefined;
  const cols = first.length;
  const start = hasHeader ? 1 : 0;
  const rows = lines.length - start;
  if (rows === 0) throw new DataError("NNC504", `${file}: the CSV file has a header but no rows of data`, file);

  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const lineNo = start + r + 1;
    const line = lines[start + r]!;
    const cells = splitLine(line, delimiter, file, lineNo);
    if (cells.length !== cols || line.trim() === "") {
      const found = line.trim() === "" ? "is empty" : `has ${cells.length} columns`;
      throw new DataError("NNC504",
        `${file}:${lineNo}: line ${lineNo} ${found}; expected ${cols} columns, as on line 1`, file);
    }
    for (let c = 0; c < cols; c++) {
      const cell = cells[c]!.trim();
      if (!NUMBER.test(cell)) {
        const name = columns?.[c] ? ` ("${columns[c]}")` : "";
        const what = cell === "" ? "empty cell" : `"${cell.length > 20 ? cell.slice(0, 20) + "…" : cell}" is not a number`;
        throw new DataError("NNC504",
          `${file}:${lineNo}: column ${c + 1}${name}: ${what}; every cell must be a number`, file);
      }
      const value = Number(cell);
      // Models run in float32: a larger value would become Infinity there, and
      // surface much later as a non-finite parameter blamed on the learning rate.
      if (Math.abs(value) > FLOAT32_MAX) {
        const name = columns?.[c] ? ` ("${columns[c]}")` : "";
        throw new DataError("NNC504",
          `${file}:${lineNo}: column ${c + 1}${name}: ${cell} is too large for float32 (at most ±${FLOAT32_MAX.toPrecision(8)}); scale the data down`, file);
      }
      data[r * cols + c] = value;
    }
  }
  return { columns, rows, cols, data, firstLine: start + 1 };
}
