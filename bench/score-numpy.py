#!/usr/bin/env python3
"""The numpy side of `npm run bench:score` (bench/score.js): a chunked pass over a (N, C) float32 .npy of
logits and its labels computing NLL, accuracy, top-5 accuracy, Brier, mean entropy, 15-bin ECE and the
confusion matrix (a subset of `logitkit score`'s figures), printed as JSON. Memory-mapped, 1M values per
chunk, float64 sums of float32 per-row values, as a careful numpy user would write it."""
import json
import sys

import numpy as np

x = np.load(sys.argv[1], mmap_mode="r")
y = np.load(sys.argv[2], mmap_mode="r")
n, C = x.shape
bins = 15
k = min(5, C)
chunk = max(1, 1_000_000 // C)
nll = correct = top = brier = ent = 0.0
bc = np.zeros(bins)
bconf = np.zeros(bins)
bcorr = np.zeros(bins)
conf_m = np.zeros((C, C), dtype=np.int64)
for s in range(0, n, chunk):
    z = np.asarray(x[s : s + chunk])
    t = np.asarray(y[s : s + chunk])
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1, keepdims=True)) + m
    lp = z - lse
    p = np.exp(lp)
    rows = np.arange(len(t))
    nll -= lp[rows, t].astype(np.float64).sum()
    pred = z.argmax(axis=1)
    hit = pred == t
    correct += hit.sum()
    topk = np.argpartition(-z, k - 1, axis=1)[:, :k]
    top += (topk == t[:, None]).any(axis=1).sum()
    brier += ((p * p).sum(axis=1) - 2 * p[rows, t] + 1).astype(np.float64).sum()
    ent -= (p * lp).sum(axis=1).astype(np.float64).sum()
    c = p[rows, pred]
    b = np.clip(np.ceil(c * bins).astype(np.int64) - 1, 0, bins - 1)
    bc += np.bincount(b, minlength=bins)
    bconf += np.bincount(b, weights=c, minlength=bins)
    bcorr += np.bincount(b, weights=hit, minlength=bins)
    conf_m += np.bincount(t * C + pred, minlength=C * C).reshape(C, C)
ece = np.abs(bcorr - bconf).sum() / n
print(json.dumps({"rows": n, "classes": C, "nll": nll / n, "accuracy": correct / n, "top5": top / n,
                  "brier": brier / n, "meanEntropy": ent / n, "ece": ece, "confusionTrace": int(np.trace(conf_m))}))
