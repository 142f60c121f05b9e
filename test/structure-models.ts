// The model of test/structure.test.ts, shared with the ONNX export test: every
// structural op in the forms examples/ops_structure.nn does not use.

export const STRUCTURE = `model structure
dim batch
input x: [batch, 3, 4]
target y: [batch, 6]
param A: [4, 5] = uniform(-1, 1)
param B: [2, 3, 5] = uniform(-1, 1)
h = tanh(x A)
m = causal_mask(h, fill = 0)
n = softmax(causal_mask(permute(h, [0, 2, 1])))
p = permute(reshape(h, [batch, 3, 5, 1]), [3, 0, 2, 1])
c = concat(B, m[0:2], axis = 0)
d = concat(m, h[:, 1:], axis = 1)
e = where(greater(m, 0.1), m, less(h, -0.1) * h)
f = sum(e, axis = [0, 2])
g = max(d, axis = [1, -1])
v = var(n, axis = [1, 2], keepdims = true)
z = concat(n[..., 0] * reshape(v, [batch, 1]), p[0, :, 0:1, 0] + var(h), axis = -1) + sum(f) + mean(c) + reshape(g, [batch, 1])
output z, m, n, p, c, d, e, f, g
loss = mse(z, y)
`;

/** Integer ids sliced, joined and picked (`ids[:, :-1]`): the next-token layout of a language model. */
export const IDS = `model ids
dim batch
input ids: int[batch, 5]
target y: [batch, 4, 7]
param E: [7, 3] = uniform(-1, 1)
param W: [3, 7] = uniform(-1, 1)
x = ids[:, :-1]
t = concat(ids[:, 1:2], ids[:, 2:], axis = -1)
p = softmax(embed(x, E) W)
output p
loss = mse(p, y) + mean(embed(t, E)) + mean(embed(ids[:, 0], E) ^ 2)
`;

/**
 * Causal multi-head self-attention with the heads as an axis: `[batch, 1,
 * block, width]` times `[heads, width, head]` broadcasts to `[batch, heads,
 * block, head]`; the heads' outputs go back to the width through `[heads,
 * head, width]` and are summed over the heads axis. (`best`, the head
 * that contributes most, reduces along an axis with two symbolic dims inside
 * it, which the WGSL reductions once got wrong.)
 */
export const HEADS = `model heads
dim batch
dim block = 4
dim width = 6
dim heads = 2
dim head = 3
input x: [batch, block, width]
target y: [batch, block, width]
param Wq: [heads, width, head] = normal(0, 0.5)
param Wk: [heads, width, head] = normal(0, 0.5)
param Wv: [heads, width, head] = normal(0, 0.5)
param Wo: [heads, head, width] = normal(0, 0.5)
x3 = reshape(x, [batch, 1, block, width])
q = x3 Wq
k = x3 Wk
v = x3 Wv
a = softmax(causal_mask(q k.T / sqrt(head)))
h = a v Wo
o = sum(h, axis = 1)
best = argmax(h, axis = 1)
output o, best
loss = mse(o, y)
train adam(lr = 0.05)
`;

/**
 * The other ways batch axes broadcast: a 1 on each side (x W), the operand
 * with fewer batch axes on the left (H x), both stepping along one axis and
 * only one along another (tanh(H x) U), and a 1 in the output's batch (x Z).
 */
export const BROADCAST_PRODUCTS = `model broadcast_products
dim batch
input x: [batch, 1, 3, 4]
target y: [batch, 2, 3, 5]
param W: [1, 2, 4, 5] = uniform(-1, 1)
param H: [2, 3, 3] = uniform(-1, 1)
param U: [2, 4, 5] = uniform(-1, 1)
param Z: [1, 1, 4, 5] = uniform(-1, 1)
r = x W + tanh(H x) U + x Z
output r
loss = mse(r, y)
`;
