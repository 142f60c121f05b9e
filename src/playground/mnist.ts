// The MNIST subset scripts/build-playground.ts writes: "NNCM", the counts of
// training and test images (u32, little-endian), then the training images
// (784 bytes each, row-major 28 × 28), their labels, the test images, theirs.

export interface Mnist {
  readonly trainImages: Uint8Array;
  readonly trainLabels: Uint8Array;
  readonly testImages: Uint8Array;
  readonly testLabels: Uint8Array;
}

export function parseMnist(bytes: Uint8Array): Mnist {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "NNCM") throw new Error("mnist.bin: not the playground's MNIST subset");
  const train = view.getUint32(4, true);
  const test = view.getUint32(8, true);
  let at = 12;
  const take = (n: number) => bytes.subarray(at, (at += n));
  const trainImages = take(train * 784);
  const trainLabels = take(train);
  const testImages = take(test * 784);
  const testLabels = take(test);
  if (at !== bytes.length) throw new Error("mnist.bin: truncated or too long");
  return { trainImages, trainLabels, testImages, testLabels };
}

export async function loadMnist(url: string): Promise<Mnist> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${res.statusText}`);
  return parseMnist(new Uint8Array(await res.arrayBuffer()));
}
