// Where a value lives, as data: a kind of memory and an index in it. Each
// backend names places its own way (the CPU module's arena offsets, the
// WebGPU module's buffers); nothing downstream parses a name.

export type PersistentKind =
  /** An input or a target, in the order inputs then targets. */
  | "data"
  | "param"
  | "grad"
  /** The optimizer's first and second state of a param. */
  | "state1"
  | "state2"
  /** A constant a kernel reads from memory (fused loops inline theirs). */
  | "const";

export type TempKind = "temp" | "itemp";

export interface Place {
  readonly kind: PersistentKind | TempKind;
  readonly index: number;
}

export const isTemp = (p: Place): boolean => p.kind === "temp" || p.kind === "itemp";

const PREFIX: { readonly [K in Place["kind"]]: string } = { data: "x", param: "p", grad: "g", state1: "m", state2: "v", const: "c", temp: "t", itemp: "i" };

/** The name both backends give a place ("p0", "t3"); the CPU prefixes temporaries with their program's letter. */
export const placeName = (p: Place): string => `${PREFIX[p.kind]}${p.index}`;
