# Writes test/fixtures/sklearn-22/ap-*.npy and ap-reference.json: scikit-learn's average precision
# (sklearn.metrics.average_precision_score: step-wise, no interpolation) and the decisions at a
# threshold (issue 22 item 6), for `logitkit score --json` to be compared against without Python.
#   - the 1/32 grid of reference.json (full of exact ties): AP per class (one-vs-rest) and macro;
#   - continuous softmax probabilities (float32, 4000 x 6): AP per class and macro;
#   - the binary probabilities of reference.json: AP of p(y = 1); and accuracy, precision, recall,
#     F1 and the confusion matrix of the decision p > 0.3;
#   - multi-label probabilities (3000 x 5, float32) with 0/1 targets: AP per label, macro and micro;
#     micro / macro F1, subset accuracy and Hamming loss of the decision p >= 0.3.
# Every score is the float32 value logitkit reads, widened to float64. Run from the repository root
# with Debian's Python (python3-sklearn, python3-numpy):
#   /usr/bin/python3 scripts/sklearn-22-ap-reference.py
import json
import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                             hamming_loss, precision_score, recall_score)

out = 'test/fixtures/sklearn-22'
rng = np.random.default_rng(2206)
ref = {'sklearn': sklearn.__version__}


def one_vs_rest(p, y):
    per = [float(average_precision_score((y == k).astype(int), p[:, k].astype(np.float64))) for k in range(p.shape[1])]
    return {'perClass': per, 'macro': float(np.mean(per))}


gp = np.load(f'{out}/grid-probs.npy')
gy = np.load(f'{out}/grid-labels.npy')
ref['grid'] = one_vs_rest(gp, gy)

N, C = 4000, 6
y = rng.integers(0, C, N)
z = rng.normal(0, 1.5, (N, C))
z[np.arange(N), y] += rng.uniform(0, 3, N)
e = np.exp(z - z.max(axis=1, keepdims=True))
p = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
np.save(f'{out}/ap-cont-probs.npy', p)
np.save(f'{out}/ap-cont-labels.npy', y.astype(np.int64))
ref['continuous'] = one_vs_rest(p, y)

bp = np.load(f'{out}/binary-probs.npy').astype(np.float64)
by = np.load(f'{out}/binary-labels.npy')
pred = (bp > 0.3).astype(int)
ref['binary'] = {
    'averagePrecision': float(average_precision_score(by, bp)),
    'threshold': 0.3,
    'accuracy': float(accuracy_score(by, pred)),
    'precision': float(precision_score(by, pred)),
    'recall': float(recall_score(by, pred)),
    'f1': float(f1_score(by, pred)),
    'confusion': confusion_matrix(by, pred).tolist(),
}

N, L = 3000, 5
t = (rng.random((N, L)) < np.array([0.05, 0.2, 0.4, 0.6, 0.3])).astype(np.uint8)
logit = rng.normal(0, 1.2, (N, L)) + 1.8 * (t - 0.5)
mp = (1 / (1 + np.exp(-logit))).astype(np.float32)
np.save(f'{out}/ap-multilabel-probs.npy', mp)
np.save(f'{out}/ap-multilabel-targets.npy', t)
m64 = mp.astype(np.float64)
mpred = (m64 >= 0.3).astype(int)
ref['multilabel'] = {
    'perLabel': [float(v) for v in average_precision_score(t, m64, average=None)],
    'macro': float(average_precision_score(t, m64, average='macro')),
    'micro': float(average_precision_score(t, m64, average='micro')),
    'threshold': 0.3,
    'microF1': float(f1_score(t, mpred, average='micro')),
    'macroF1': float(f1_score(t, mpred, average='macro')),
    'subsetAccuracy': float(accuracy_score(t, mpred)),
    'hammingLoss': float(hamming_loss(t, mpred)),
}
with open(f'{out}/ap-reference.json', 'w') as f:
    json.dump(ref, f, indent=1)
    f.write('\n')
