// The examples' models written in TensorFlow.js, the same shapes, loss and
// optimizer (plain SGD), starting from the nnc model's initial params so the
// two compute the same numbers (cpu.ts checks that they do).
//
// Steps and inference use tfjs's core ops directly, its fastest path: the
// Layers API adds bookkeeping per call that nnc does not have. model.fit,
// which users do call, is timed separately (train.ts) on a Layers model.
import { tf } from "./tfjs-env.ts";

type Params = Record<string, Float32Array>;

/** One network on the current backend; every call takes and returns plain arrays, as nnc's do. */
export interface TfNet {
  /** One SGD step; the loss before it, read back to JavaScript (nnc returns it too). */
  trainStep(x: Float32Array, y: Float32Array): number;
  /** Class probabilities in inference mode (no dropout), read back to JavaScript. */
  predict(x: Float32Array): Float32Array;
  dispose(): void;
}

interface Layout {
  /** Logits from the input batch; `training` turns dropout on. */
  logits(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
  variables: tf.Variable[];
}

function net(batch: number, features: number, classes: number, lr: number, layout: Layout): TfNet {
  const optimizer = tf.train.sgd(lr);
  return {
    trainStep(xs, ys) {
      return tf.tidy(() => {
        // Made from the arrays on every call: nnc copies its inputs into its arena on every call too.
        const x = tf.tensor2d(xs, [batch, features]);
        const y = tf.tensor2d(ys, [batch, classes]);
        // softmaxCrossEntropy works from logits, as nnc's fused softmax + cross_entropy does; both take the batch mean.
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, layout.logits(x, true)) as tf.Scalar, true)!;
        return loss.dataSync()[0]!;
      });
    },
    predict(xs) {
      // dataSync outside tidy: tidy would walk the returned array looking for tensors.
      const p = tf.tidy(() => tf.softmax(layout.logits(tf.tensor2d(xs, [batch, features]), false)));
      const out = p.dataSync() as Float32Array;
      p.dispose();
      return out;
    },
    dispose() {
      optimizer.dispose();
      for (const v of layout.variables) v.dispose();
    },
  };
}

/** mnist_tanh.nn: 784 → 100 tanh → dropout 0.5 → 10 softmax, no biases. */
export function tfMlp(batch: number, params: Params, lr: number): TfNet {
  const hidden = params["W0"]!.length / 784;
  // tidy frees the initial tensors; the variables, which tidy keeps, hold the values.
  const W0 = tf.tidy(() => tf.variable(tf.tensor2d(params["W0"]!, [784, hidden])));
  const W1 = tf.tidy(() => tf.variable(tf.tensor2d(params["W1"]!, [hidden, 10])));
  return net(batch, 784, 10, lr, {
    variables: [W0, W1],
    logits(x, training) {
      const h = tf.tanh(tf.matMul(x, W0));
      return tf.matMul(training ? tf.dropout(h, 0.5) : h, W1);
    },
  });
}

/** mnist_conv.nn: 16 valid 3×3 kernels (NHWC) → tanh → flatten → dropout 0.5 → 10 softmax, no biases. */
export function tfConv(batch: number, params: Params, lr: number): TfNet {
  const K = tf.tidy(() => tf.variable(tf.tensor4d(params["K"]!, [3, 3, 1, 16]))); // nnc's [3, 3, 1, 16] is tfjs's HWIO filter
  const W = tf.tidy(() => tf.variable(tf.tensor2d(params["W"]!, [26 * 26 * 16, 10])));
  return net(batch, 784, 10, lr, {
    variables: [K, W],
    logits(x, training) {
      const maps = tf.tanh(tf.conv2d(tf.reshape(x, [batch, 28, 28, 1]) as tf.Tensor4D, K as tf.Variable<tf.Rank.R4>, 1, "valid"));
      const flat = tf.reshape(maps, [batch, 26 * 26 * 16]) as tf.Tensor2D;
      return tf.matMul(training ? tf.dropout(flat, 0.5) : flat, W);
    },
  });
}

/**
 * mnist_tanh.nn as a Layers model for model.fit. Its loss is the Layers
 * categoricalCrossentropy over softmax probabilities (clipped, then log),
 * a little more work than the fused form above; that is what fit users get.
 */
export function tfMlpLayers(params: Params, lr: number): tf.Sequential {
  const hidden = params["W0"]!.length / 784;
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: hidden, activation: "tanh", useBias: false }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10, activation: "softmax", useBias: false }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(lr), loss: "categoricalCrossentropy" });
  tf.tidy(() => model.setWeights([tf.tensor2d(params["W0"]!, [784, hidden]), tf.tensor2d(params["W1"]!, [hidden, 10])]));
  return model;
}
