// Models that both parity suites (test/cpu-parity.test.ts on the CPU module,
// test/webgpu-parity.test.ts on the WebGPU one) run beside the examples, for
// cases no example reaches. Each is checked against the float64 interpreter:
// forward outputs (inference, and training mode where `trainingForward`),
// the loss, the gradients, three training steps, then inference again with
// the params (running statistics included) those steps left.

export interface ParityModel {
  readonly text: string;
  /** Sizes of its dims for the test. */
  readonly dims: Readonly<Record<string, number>>;
  /** Also compare forward(…, { training: true }): the batch's statistics rather than the running ones. */
  readonly trainingForward?: boolean;
}

export const PARITY_MODELS: Readonly<Record<string, ParityModel>> = {
  // accuracy against integer class ids (one per row, for scores of rank 2 and 3) and against
  // one-hot rows. Accuracy has no gradient; it is in the loss so that loss(), trainStep() and
  // every step's value carry it on each backend (forward() reads no targets). The weights are
  // 1, 1/16, 1/64 so that no two miscounts (steps of 1/7, 1/14 and 1/7 at batch 7) cancel out.
  accuracy_labels: {
    text: `model accuracy_labels
dim batch
input x: [batch, 6]
target y: int[batch]
target t: int[batch, 2]
param W: [6, 4] = uniform(-1, 1)
param V: [6, 8] = uniform(-1, 1)
s = x W
u = reshape(x V, [batch, 2, 4])
output s
loss = sparse_cross_entropy(s, y) + sparse_cross_entropy(u, t) + accuracy(s, y) + 0.0625 * accuracy(u, t) + 0.015625 * accuracy(s, one_hot(y, 4))
train sgd(lr = 0.1)
`,
    dims: { batch: 7 },
  },
  // Average pooling where the window does not divide the image: 7 × 5 by 2 keeps ⌊7/2⌋ × ⌊5/2⌋ = 3 × 2
  // windows, by 3 keeps 2 × 1; the rows and columns past the last whole window are dropped (as
  // PyTorch's default, ceil_mode = False) and get a zero gradient.
  avgpool_remainder: {
    text: `model avgpool_remainder
dim batch
input x: [batch, 7, 5, 2]
target y: [batch, 3, 2, 2]
target z: [batch, 2, 1, 2]
param k: [2] = uniform(0.5, 1.5)
param c: [2] = uniform(-1, 1)
a = avgpool2d(tanh(x * k + c))
b = avgpool2d(x * k * k, size = 3)
output a, b
loss = mse(a, y) + mse(b, z)
train sgd(lr = 0.5)
`,
    dims: { batch: 3 },
    trainingForward: true,
  },
  // batchnorm of [batch, features] (no image axes): in training the batch's mean and biased variance,
  // the running statistics moved towards the batch's (unbiased variance); in inference the running ones.
  batchnorm_rows: {
    text: `model batchnorm_rows
dim batch
input x: [batch, 5]
target y: [batch, 3]
param W: [5, 3] = uniform(-1, 1)
param g: [3] = uniform(0.5, 1.5)
param b: [3] = uniform(-1, 1)
h = batchnorm(x W, g, b, momentum = 0.25, eps = 0.01)
output h
loss = mse(h, y)
train sgd(lr = 0.1)
`,
    dims: { batch: 6 },
    trainingForward: true,
  },
};
