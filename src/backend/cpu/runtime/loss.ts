// Losses and metrics of the CPU runtime: each returns its scalar as a JS
// number, summed in float64, with the meaning of the interpreter kernel of
// the same op (src/interp/kernels-losses.ts). "Rows" are every axis but the
// last, so a [rows, width] view: the class losses and accuracy average over
// rows, mse and the binary cross-entropies over all n elements, and the
// penalties sum. Targets are taken as given: the interpreter checks that
// cross-entropy targets are distributions and hinge targets one-hot; here a
// malformed target just gives a number.

/** mean over n elements of (p − y)². */
export function mse(p: Float32Array, pOff: number, y: Float32Array, yOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = p[pOff + i] - y[yOff + i];
    s += d * d;
  }
  return s / n;
}

/** mean over rows of −Σ y·log p, a class with y = 0 adding nothing (0·log 0 = 0). */
export function crossEntropy(p: Float32Array, pOff: number, y: Float32Array, yOff: number, rows: number, width: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    for (let j = 0; j < width; j++) {
      const t = y[yOff + o + j];
      if (t !== 0) s -= t * Math.log(p[pOff + o + j]);
    }
  }
  return s / rows;
}

/** mean over rows of Σ y·(logsumexp(z) − z), with the row maximum factored out of logsumexp. */
export function softmaxCrossEntropy(z: Float32Array, zOff: number, y: Float32Array, yOff: number, rows: number, width: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const zo = zOff + r * width;
    const yo = yOff + r * width;
    let m = -Infinity;
    for (let j = 0; j < width; j++) m = Math.max(m, z[zo + j]);
    let e = 0;
    for (let j = 0; j < width; j++) e += Math.exp(z[zo + j] - m);
    const lse = m + Math.log(e);
    for (let j = 0; j < width; j++) s += y[yo + j] * (lse - z[zo + j]);
  }
  return s / rows;
}

/** mean over n elements of −(y·log p + (1 − y)·log(1 − p)). */
export function binaryCrossEntropy(p: Float32Array, pOff: number, y: Float32Array, yOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = p[pOff + i];
    const b = y[yOff + i];
    s -= b * Math.log(a) + (1 - b) * Math.log(1 - a);
  }
  return s / n;
}

/** mean over n elements of the binary cross-entropy of sigmoid(z), as max(z, 0) − z·y + log(1 + e^−|z|), which never overflows. */
export function sigmoidBinaryCrossEntropy(z: Float32Array, zOff: number, y: Float32Array, yOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = z[zOff + i];
    s += Math.max(a, 0) - a * y[yOff + i] + Math.log1p(Math.exp(-Math.abs(a)));
  }
  return s / n;
}

/** The index of the first largest of width values at x[off …]. */
function lossFirstMax(x: Float32Array, off: number, width: number): number {
  let best = 0;
  let bv = x[off];
  for (let j = 1; j < width; j++) {
    if (x[off + j] > bv) {
      best = j;
      bv = x[off + j];
    }
  }
  return best;
}

/** mean over rows of Σ_{j ≠ label} max(0, s_j − s_label + 1), the label being the first argmax of the (one-hot) target row. */
export function hinge(s: Float32Array, sOff: number, y: Float32Array, yOff: number, rows: number, width: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const so = sOff + r * width;
    const label = lossFirstMax(y, yOff + r * width, width);
    const sl = s[so + label];
    for (let j = 0; j < width; j++) if (j !== label) total += Math.max(0, s[so + j] - sl + 1);
  }
  return total / rows;
}

/** The share of rows whose first argmax in p equals the first argmax in y. */
export function accuracy(p: Float32Array, pOff: number, y: Float32Array, yOff: number, rows: number, width: number): number {
  let hits = 0;
  for (let r = 0; r < rows; r++) if (lossFirstMax(p, pOff + r * width, width) === lossFirstMax(y, yOff + r * width, width)) hits++;
  return hits / rows;
}

/** The share of rows whose first argmax in p is the row's class id; a label outside [0, width) is a data error (as the interpreter's). */
export function accuracyOfLabels(p: Float32Array, pOff: number, labels: Int32Array, lOff: number, rows: number, width: number): number {
  let hits = 0;
  for (let r = 0; r < rows; r++) {
    const k = labels[lOff + r];
    if (!(k >= 0 && k < width)) throw new RangeError(`accuracy: label ${k} is outside the ${width} classes [0, ${width})`);
    if (lossFirstMax(p, pOff + r * width, width) === k) hits++;
  }
  return hits / rows;
}

/** Σ x² over n elements. */
export function sumsq(x: Float32Array, xOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[xOff + i] * x[xOff + i];
  return s;
}

/** Σ |x| over n elements. */
export function sumabs(x: Float32Array, xOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(x[xOff + i]);
  return s;
}
