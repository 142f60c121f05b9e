// What every emitted module needs besides kernels: reading dims, checking the
// arrays a caller passes, and training options (checkpoints: checkpoint.ts).

/** A dim's size: the one given, else the default; a clear error otherwise. */
export function dimension(dims: object, name: string, fallback: number | undefined): number {
  // Own properties only: a dim named `constructor` or `toString` must not read Object.prototype's.
  const value = Object.hasOwn(dims, name) ? (dims as Record<string, number | undefined>)[name] ?? fallback : fallback;
  if (value === undefined) throw new Error(`createModel: dims.${name} is required`);
  if (!Number.isInteger(value) || value < 1) throw new Error(`createModel: dims.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The array a caller passed for `name`, if it has the type and size the model expects. */
export function checked<T extends Float32Array | Int32Array>(
  value: unknown,
  name: string,
  type: { new (n: number): T; readonly name: string },
  size: number,
  shape: string,
  dims: Record<string, number>,
): T {
  if (!(value instanceof type)) {
    const got = value === undefined || value === null ? "nothing" : typeof value === "object" ? value.constructor.name : typeof value;
    throw new Error(`${name}: expected a ${type.name} of shape ${shape}, got ${got}`);
  }
  if (value.length !== size) {
    throw new Error(`${name}: expected shape ${shape} (${size} values${Object.keys(dims).length > 0 ? ` with ${Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(", ")}` : ""}), got ${value.length} values`);
  }
  return value;
}

/** A training option, or its default; finite and not negative. */
export function option(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`trainStep: ${name} must be a finite non-negative number, got ${String(v)}`);
  return v;
}
