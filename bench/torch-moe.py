# The same sparse MoE layer in PyTorch eager, for bench/layers.sh: a
# Hugging Face MixtralSparseMoeBlock-style forward (router linear, softmax,
# top-k, renormalised weights, a loop over the experts that got tokens,
# index_add_ into token order), f32, no_grad, seeded random weights.
# Prints one line a token count:
#   torch: T tokens: median M ms/call
#
#   torch-moe.py D F E K T1,T2,... [--calls N] [--inputs R] [--threads N]
import argparse
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("d", type=int)
parser.add_argument("f", type=int)
parser.add_argument("e", type=int)
parser.add_argument("k", type=int)
parser.add_argument("tokens")
parser.add_argument("--calls", type=int, default=10)
parser.add_argument("--inputs", type=int, default=4)
parser.add_argument("--threads", type=int, default=0)
args = parser.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(1)
D, FF, E, K = args.d, args.f, args.e, args.k

# nn.Linear layout [out, in], as the checkpoints store it.
router = torch.randn(E, D) * 0.02
w1 = [torch.randn(FF, D) * 0.02 for _ in range(E)]
w3 = [torch.randn(FF, D) * 0.02 for _ in range(E)]
w2 = [torch.randn(D, FF) * 0.02 for _ in range(E)]


def forward(x):
    logits = F.linear(x, router)
    weights = F.softmax(logits, dim=1, dtype=torch.float)
    weights, selected = torch.topk(weights, K, dim=-1)
    weights /= weights.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(x)
    mask = F.one_hot(selected, num_classes=E).permute(2, 1, 0)
    for e in range(E):
        slot, token = torch.where(mask[e])
        if token.numel() == 0:
            continue
        h = x[token]
        h = F.linear(F.silu(F.linear(h, w1[e])) * F.linear(h, w3[e]), w2[e])
        out.index_add_(0, token, h * weights[token, slot, None])
    return out


with torch.no_grad():
    for t in [int(v) for v in args.tokens.split(",")]:
        xs = [torch.randn(t, D) for _ in range(args.inputs)]
        for x in xs:
            forward(x)
        seconds = []
        for i in range(args.calls):
            x = xs[i % len(xs)]
            start = time.perf_counter()
            forward(x)
            seconds.append(time.perf_counter() - start)
        seconds.sort()
        print("torch: %d tokens: median %.4f ms/call" %
              (t, seconds[len(seconds) // 2] * 1e3), flush=True)
