# Writes test/fixtures/sklearn-fairness.json: Fairlearn's equalized-odds and demographic-parity
# differences ('between_groups'), reproduced from its definition with scikit-learn (Fairlearn itself is
# not installed here): per group, TPR and FPR are read off sklearn.metrics.confusion_matrix with
# normalize='true' and labels=[0, 1], whose empty rows are 0 (not NaN), so a group without positives
# has TPR 0 and one without negatives FPR 0; the difference is max(TPR range, FPR range).
# Run from the repository root with Debian's Python: /usr/bin/python3 scripts/sklearn-fairness-reference.py
import json
import numpy as np
import sklearn
from sklearn.metrics import confusion_matrix

rng = np.random.default_rng(22)
cases = []


def case(name, y, pred, groups):
    tpr, fpr, sel = {}, {}, {}
    for g in sorted(set(groups.tolist())):
        m = groups == g
        cm = confusion_matrix(y[m], pred[m], labels=[0, 1], normalize='true')
        tpr[g], fpr[g] = cm[1, 1], cm[0, 1]
        sel[g] = pred[m].mean()
    rng_of = lambda d: max(d.values()) - min(d.values())
    cases.append({
        'name': name,
        'y': y.tolist(), 'pred': pred.tolist(), 'groups': groups.tolist(),
        'equalizedOddsDifference': float(max(rng_of(tpr), rng_of(fpr))),
        'demographicParityDifference': float(rng_of(sel)),
        'noPositives': sorted(int(g) for g in set(groups.tolist()) if not (y[groups == g] == 1).any()),
        'noNegatives': sorted(int(g) for g in set(groups.tolist()) if not (y[groups == g] == 0).any()),
    })


n = 300
groups = rng.integers(0, 4, n)
y = rng.integers(0, 2, n)
pred = np.where(rng.random(n) < 0.8, y, 1 - y)
case('every group has both labels', y, pred, groups)
y2 = y.copy(); y2[groups == 2] = 0  # group 2: no positives
case('a group without positives', y2, pred, groups)
y3 = y2.copy(); y3[groups == 3] = 1  # and group 3: no negatives
case('a group without positives and one without negatives', y3, pred, groups)
pred4 = np.where(groups == 1, 1, pred)
case('one group always predicted positive', y3, pred4, groups)

with open('test/fixtures/sklearn-fairness.json', 'w') as f:
    json.dump({'sklearn': sklearn.__version__, 'cases': cases}, f)
    f.write('\n')
