// Models the WebGPU tests share.

/** Nine inputs in one elementwise expression: more storage buffers than WebGPU guarantees for one kernel. */
export const WIDE = `model wide
dim batch
input a: [batch, 4]
input b: [batch, 4]
input c: [batch, 4]
input d: [batch, 4]
input e: [batch, 4]
input f: [batch, 4]
input h: [batch, 4]
input j: [batch, 4]
input k: [batch, 4]
target y: [batch, 4]
param w: [4]
s = tanh(a * b + c * d - e * f + h * j + k * w)
output s
loss = mse(s, y)
`;
