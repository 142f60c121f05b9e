# PyTorch as a benchmark peer (bench/torch-peer.ts starts it): the examples'
# networks written the way a PyTorch user writes them, on one thread, driven
# over stdin/stdout, one JSON object a line each way.
#
# Requests ({"cmd": ...}), answered in order:
#   setup   {"dir", "arrays": {name: shape}, "nets": [{"id", "kind": "mlp"|"conv", "batch", "lr", "params": {nnc name: array name}}],
#            "trains": {case: [net, x, y]}, "infers": {case: [net, x]}, "epochs": {case: [net, x, y]}, "products": [n, ...]}
#           reads each array from dir/<name>.f32 (raw little-endian float32, as the bench wrote it)
#   sample  {"case", "calls"}            -> {"ms", "last"}: calls of one case, timed here (no pipe round trip inside
#            a sample); "last" is what the last call returned where that is a number (an epoch's mean loss)
#   predict {"net", "x"}                 -> {"p"}: class probabilities, inference mode
#   step    {"net", "x", "y", "mask"?}   -> {"loss", "params": {nnc name: list}}: one SGD step; "mask" names an
#            array holding nnc's dropout multipliers (0 or 2) in nnc's layout, so the step is nnc's step exactly
#   quit
# Any failure answers {"error"}. Params go back in nnc's layout (the conv's
# are stored in PyTorch's NCHW order here and converted at the edges).
import json
import os
import sys
import time

# One thread for OpenMP and OpenBLAS too, set before torch loads them (the bench also sets these).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

# mnist_conv.nn: 28x28 single-channel images, 16 valid 3x3 kernels, 26x26 maps.
SIDE, KERNELS, MAP = 28, 16, 26


class Mlp:
    """mnist_tanh.nn: tanh(x W0), dropout 0.5, softmax(h W1), cross-entropy; no biases."""

    def __init__(self, batch, lr, params):
        self.batch = batch
        self.W0 = torch.tensor(params["W0"], requires_grad=True)
        self.W1 = torch.tensor(params["W1"], requires_grad=True)
        self.opt = torch.optim.SGD([self.W0, self.W1], lr=lr)

    def hidden(self, x):
        return torch.tanh(x @ self.W0)

    def head(self, h):
        return h @ self.W1

    def mask_layout(self, mask):
        return mask.reshape(self.batch, -1)

    def params(self):
        return {"W0": self.W0.detach().numpy(), "W1": self.W1.detach().numpy()}


class Conv:
    """mnist_conv.nn in NCHW: conv2d with 16 3x3 kernels, tanh, flatten, dropout 0.5, softmax(h W)."""

    def __init__(self, batch, lr, params):
        self.batch = batch
        # nnc's kernel is [3, 3, 1, 16] (HWIO); PyTorch's weight is [16, 1, 3, 3] (OIHW).
        self.K = torch.tensor(params["K"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
        # nnc flattens the maps as (h, w, c); here they flatten as (c, h, w), so W's rows are reordered once.
        w = params["W"].reshape(MAP, MAP, KERNELS, -1).transpose(2, 0, 1, 3).reshape(MAP * MAP * KERNELS, -1)
        self.W = torch.tensor(w.copy(), requires_grad=True)
        self.opt = torch.optim.SGD([self.K, self.W], lr=lr)

    def hidden(self, x):
        maps = torch.tanh(F.conv2d(x.view(self.batch, 1, SIDE, SIDE), self.K))
        return maps.flatten(1)

    def head(self, h):
        return h @ self.W

    def mask_layout(self, mask):
        return mask.reshape(self.batch, MAP, MAP, KERNELS).transpose(0, 3, 1, 2).reshape(self.batch, -1)

    def params(self):
        k = self.K.detach().numpy().transpose(2, 3, 1, 0)
        w = self.W.detach().numpy().reshape(KERNELS, MAP, MAP, -1).transpose(1, 2, 0, 3).reshape(MAP * MAP * KERNELS, -1)
        return {"K": k, "W": w}


def train_step(net, x, y, mask=None):
    """One SGD step as a PyTorch user writes it; the loss before the step, read back as nnc returns it."""
    net.opt.zero_grad(set_to_none=True)
    h = net.hidden(torch.from_numpy(x))
    h = F.dropout(h, 0.5, training=True) if mask is None else h * torch.from_numpy(np.ascontiguousarray(net.mask_layout(mask)))
    # Class-probability targets: the batch mean of -sum(y log softmax), nnc's fused softmax + cross_entropy.
    loss = F.cross_entropy(net.head(h), torch.from_numpy(y))
    loss.backward()
    net.opt.step()
    return loss.item()


def predict(net, x):
    with torch.inference_mode():
        return torch.softmax(net.head(net.hidden(torch.from_numpy(x))), dim=1).numpy()


class Peer:
    def __init__(self):
        self.arrays = {}
        self.nets = {}
        self.cases = {}

    def setup(self, r):
        d = r["dir"]
        for name, shape in r["arrays"].items():
            self.arrays[name] = np.fromfile(os.path.join(d, name + ".f32"), dtype="<f4").reshape(shape)
        for spec in r["nets"]:
            kind = {"mlp": Mlp, "conv": Conv}[spec["kind"]]
            params = {k: self.arrays[v] for k, v in spec["params"].items()}
            self.nets[spec["id"]] = kind(spec["batch"], spec["lr"], params)
        for name, (net, x, y) in r.get("trains", {}).items():
            self.cases[name] = self.trainer(self.nets[net], self.arrays[x], self.arrays[y])
        for name, (net, x) in r.get("infers", {}).items():
            self.cases[name] = self.predictor(self.nets[net], self.arrays[x])
        for name, (net, x, y) in r.get("epochs", {}).items():
            self.cases[name] = self.epoch(self.nets[net], self.arrays[x], self.arrays[y])
        for n in r.get("products", []):
            a, b = torch.from_numpy(self.arrays[f"a{n}"]), torch.from_numpy(self.arrays[f"b{n}"])
            self.cases[f"matmul{n}"] = self.product(a, b)
        return {"cases": sorted(self.cases), "torch": torch.__version__, "threads": torch.get_num_threads()}

    @staticmethod
    def trainer(net, x, y):
        return lambda: train_step(net, x, y)

    @staticmethod
    def predictor(net, x):
        return lambda: predict(net, x)

    @staticmethod
    def epoch(net, x, y):
        """Steps over the rows in order, batch by batch (views, no copies, no shuffling); the mean loss."""
        steps = len(x) // net.batch

        def run():
            rows = lambda a, s: a[s * net.batch:(s + 1) * net.batch]  # noqa: E731
            return sum(train_step(net, rows(x, s), rows(y, s)) for s in range(steps)) / steps
        return run

    @staticmethod
    def product(a, b):
        # torch.mm goes to the BLAS (OpenBLAS in Debian's build); the result is a fresh tensor, read as an array.
        return lambda: torch.mm(a, b).numpy()

    def sample(self, r):
        f = self.cases[r["case"]]
        last = None
        t0 = time.perf_counter()
        for _ in range(r["calls"]):
            last = f()
        ms = (time.perf_counter() - t0) * 1000
        return {"ms": ms, "last": last if isinstance(last, float) else None}

    def predict(self, r):
        return {"p": predict(self.nets[r["net"]], self.arrays[r["x"]]).ravel().tolist()}

    def step(self, r):
        net = self.nets[r["net"]]
        mask = self.arrays[r["mask"]] if r.get("mask") else None
        loss = train_step(net, self.arrays[r["x"]], self.arrays[r["y"]], mask)
        return {"loss": loss, "params": {k: v.ravel().tolist() for k, v in net.params().items()}}


COMMANDS = ("setup", "sample", "predict", "step")


def main():
    peer = Peer()
    for line in sys.stdin:
        r = json.loads(line)
        if r["cmd"] == "quit":
            break
        try:
            if r["cmd"] not in COMMANDS:
                raise ValueError(f"unknown command {r['cmd']!r}")
            answer = getattr(peer, r["cmd"])(r)
        except Exception as e:  # reported to the bench, which shows it in the table
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
