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
