// The data layer's public face: what `nnc train` imports.

export { DataError, type DataErrorCode } from "./errors.ts";
export { parseIdx, type IdxArray } from "./idx.ts";
export { parseNpy, type NpyArray } from "./npy.ts";
export { parseCsv, type CsvOptions, type CsvTable } from "./csv.ts";
export { fitToModel, type DataSpec, type Dataset, type FitOptions, type RawArray, type RawData } from "./dataset.ts";
export { loadDataset, mnistDirectory, type LoadedData, type LoadOptions } from "./load.ts";
