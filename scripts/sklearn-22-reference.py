# Writes test/fixtures/sklearn-22/: probability files and scikit-learn's figures for them (issue 22):
# a 1/32 grid of probabilities (many exact ties) with its one-vs-rest AUROC per class and macro
# (sklearn.metrics.roc_auc_score), and the decision metrics of its argmax predictions (Matthews
# correlation, Cohen's kappa). Run from the repository root with Debian's Python:
# /usr/bin/python3 scripts/sklearn-22-reference.py
import json
import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, matthews_corrcoef, cohen_kappa_score

out = 'test/fixtures/sklearn-22'
rng = np.random.default_rng(2022)
N, C = 3000, 5
y = rng.integers(0, C, N)
# 32 units per row spread over the classes, more on the label: probabilities k/32, exact in float32
units = np.zeros((N, C), dtype=np.int64)
for i in range(N):
    w = np.ones(C); w[y[i]] += 1.5
    units[i] = rng.multinomial(32, w / w.sum())
p = (units / 32).astype(np.float32)
np.save(f'{out}/grid-probs.npy', p)
np.save(f'{out}/grid-labels.npy', y.astype(np.int64))
per_class = [float(roc_auc_score((y == k).astype(int), p[:, k].astype(np.float64))) for k in range(C)]
pred = p.argmax(axis=1)  # numpy: ties to the lowest index, as logitkit
ref = {
    'sklearn': sklearn.__version__,
    'grid': {
        'aurocPerClass': per_class,
        'aurocMacro': float(np.mean(per_class)),
        'mcc': float(matthews_corrcoef(y, pred)),
        'kappa': float(cohen_kappa_score(y, pred)),
    },
}
# A binary model given as p(y = 1), (N,) float32, over-confident: calibration_curve's reading of ECE
# (uniform bins, each weighted by its share of rows), brier_score_loss, roc_auc_score, log_loss.
Nb = 2000
pb = rng.beta(0.6, 0.6, Nb).astype(np.float32)
yb = (rng.random(Nb) < 0.15 + 0.7 * pb.astype(np.float64)).astype(np.int64)
np.save(f'{out}/binary-probs.npy', pb)
np.save(f'{out}/binary-labels.npy', yb)
p64 = pb.astype(np.float64)
prob_true, prob_pred = calibration_curve(yb, p64, n_bins=15, strategy='uniform')
counts = np.bincount(np.searchsorted(np.linspace(0, 1, 16)[1:-1], p64), minlength=15)
counts = counts[counts > 0]
ref['binary'] = {
    'ece': float(np.sum(counts / Nb * np.abs(prob_true - prob_pred))),
    'brier': float(brier_score_loss(yb, p64)),
    'auroc': float(roc_auc_score(yb, p64)),
    'bce': float(log_loss(yb, p64)),
}
with open(f'{out}/reference.json', 'w') as f:
    json.dump(ref, f, indent=1)
    f.write('\n')
