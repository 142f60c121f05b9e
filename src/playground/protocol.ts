// The messages between the page and its two Workers.

/** One of nnc's diagnostics, as `nnc check` gives it, with its span as offsets for the editor. */
export interface PageDiagnostic {
  readonly from: number;
  readonly to: number;
  readonly severity: "error" | "warning";
  readonly code: string;
  readonly message: string;
  /** `nnc check`'s text for it: the header, the source line with carets, notes and help. */
  readonly rendered: string;
}

export interface AnalyzeRequest {
  readonly id: number;
  readonly text: string;
}

export interface AnalyzeResult {
  readonly id: number;
  readonly diagnostics: readonly PageDiagnostic[];
  /** Each named value's shape, e.g. "h": "[batch, 100] f32", for hover. */
  readonly shapes: Readonly<Record<string, string>>;
  readonly forwardSvg?: string;
  readonly backwardSvg?: string;
  /** The backward graph as `nnc grad` prints it. */
  readonly gradText?: string;
  /** Why a graph is missing (errors, no loss), shown in its place. */
  readonly note?: string;
}

export type Target = "cpu" | "webgpu";

export type TrainRequest =
  | { readonly type: "start"; readonly text: string; readonly target: Target }
  | { readonly type: "stop" }
  | { readonly type: "resume" }
  | { readonly type: "checkpoint" };

export type TrainEvent =
  | { readonly type: "compiled"; readonly module: string; readonly target: Target; readonly batch: number; readonly backend: string }
  | { readonly type: "progress"; readonly step: number; readonly losses: readonly number[] }
  | { readonly type: "evaluated"; readonly step: number; readonly accuracy: number; readonly predicted: readonly number[]; readonly labels: readonly number[] }
  | { readonly type: "stopped"; readonly step: number }
  | { readonly type: "checkpoint"; readonly bytes: Uint8Array }
  | { readonly type: "error"; readonly message: string };

/** The test images shown in the grid, by index into the test set. */
export const GRID_IMAGES = 24;
/** The file name diagnostics are reported against. */
export const MODEL_FILE = "model.nn";
