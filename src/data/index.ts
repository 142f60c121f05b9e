// The data layer's public face: what `nnc train` imports.

export { DataError, type DataErrorCode } from "./errors.ts";
export { parseIdx, type IdxArray } from "./idx.ts";
export { parseNpy, type NpyArray } from "./npy.ts";
export { parseCsv, type CsvOptions, type CsvTable } from "./csv.ts";
export { fitToModel, type DataSpec, type Dataset, type FitOptions, type RawArray, type RawData } from "./dataset.ts";
export { loadDataset, type LoadedData, type LoadOptions } from "./load.ts";
export { parseCifar, CIFAR_RECORD } from "./cifar.ts";
export { defaultDataSource, fashionMnistDirectory, mnistDirectory, normalizesByDefault, spamAssassin, splitCorpus, FASHION_MNIST_DIR } from "./sources.ts";
export { charVocabulary, charWindows, encodeChars, fortunesCorpus, loadCharCorpus, FORTUNES_DIR, type CharCorpus } from "./chars.ts";
export { buildVocabulary, encodeCorpus, parseTextFile, parseVocabulary, tokenize, vocabularyJson, PAD, UNK, VOCABULARY_FILE, type TextCorpus } from "./text.ts";
