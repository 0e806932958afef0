#!/usr/bin/env python3
"""scipy's optima of the fitCalibration objectives, for test/recalibration.test.ts.

Writes test/fixtures/calib-synth-logits.npy / calib-synth-labels.npy (a small deterministic synthetic
set) and test/fixtures/scipy-calibration.json: for each dataset and method, the minimum of

    mean_i [ logsumexp(z_i) - z_{i,y_i} ]   (+ for 'matrix': l2 * (sum_{i!=j} W_ij^2 / (C(C-1)) + sum_i b_i^2 / C))

found by scipy.optimize.minimize(method='L-BFGS-B') from the identity map with tight tolerances,
where z = beta*x (temperature), beta*x + b (bcts), w*x + b (vector), W x + b (matrix).
The logits are read as float32 and widened to float64, as logitkit reads them.

    python3 scripts/scipy-calibration-reference.py     # numpy 2.4, scipy 1.17 were used
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.optimize import minimize
from scipy.special import logsumexp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
FIX = os.path.join(ROOT, 'test', 'fixtures')


def synthetic():
    """3000 rows x 7 classes: skewed classes, class-dependent scales and biases, over-confident."""
    rng = np.random.default_rng(20261201)
    n, c = 3000, 7
    priors = np.array([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05])
    y = rng.choice(c, size=n, p=priors)
    x = rng.normal(0.0, 1.0, size=(n, c))
    x[np.arange(n), y] += 1.5
    x = x * np.linspace(2.5, 4.0, c) + np.linspace(-1.0, 1.0, c)
    return x.astype(np.float32), y.astype(np.int32)


def objective(method, x, y, l2):
    n, c = x.shape
    onehot = np.zeros((n, c))
    onehot[np.arange(n), y] = 1.0
    off = ~np.eye(c, dtype=bool)

    def fg(theta):
        if method == 'temperature':
            z = theta[0] * x
        elif method == 'bcts':
            z = theta[0] * x + theta[1:]
        elif method == 'vector':
            z = theta[:c] * x + theta[c:]
        else:
            W = theta[: c * c].reshape(c, c)
            z = x @ W.T + theta[c * c:]
        lse = logsumexp(z, axis=1)
        f = np.mean(lse - z[np.arange(n), y])
        d = (np.exp(z - lse[:, None]) - onehot) / n
        if method == 'temperature':
            g = np.array([np.sum(d * x)])
        elif method == 'bcts':
            g = np.concatenate([[np.sum(d * x)], d.sum(0)])
        elif method == 'vector':
            g = np.concatenate([(d * x).sum(0), d.sum(0)])
        else:
            gW = d.T @ x
            gb = d.sum(0)
            W = theta[: c * c].reshape(c, c)
            b = theta[c * c:]
            if l2 > 0:
                f += l2 * (np.sum(W[off] ** 2) / (c * (c - 1)) + np.sum(b ** 2) / c)
                gW = gW + 2 * l2 / (c * (c - 1)) * np.where(off, W, 0.0)
                gb = gb + 2 * l2 / c * b
            g = np.concatenate([gW.ravel(), gb])
        return f, g

    if method in ('temperature', 'bcts'):
        x0 = np.zeros(1 + (c if method == 'bcts' else 0))
        x0[0] = 1.0
    elif method == 'vector':
        x0 = np.concatenate([np.ones(c), np.zeros(c)])
    else:
        x0 = np.concatenate([np.eye(c).ravel(), np.zeros(c)])
    return fg, x0


def fit(method, x, y, l2=0.0):
    fg, x0 = objective(method, x, y, l2)
    r = minimize(fg, x0, jac=True, method='L-BFGS-B',
                 options={'maxiter': 100000, 'maxfun': 200000, 'ftol': 1e-16, 'gtol': 1e-12, 'maxcor': 30})
    f0, _ = fg(x0)
    return {'fun': float(r.fun), 'nllBefore': float(f0), 'iterations': int(r.nit), 'gradMax': float(np.max(np.abs(r.jac))),
            'message': str(r.message)}


def main():
    os.makedirs(FIX, exist_ok=True)
    sx, sy = synthetic()
    np.save(os.path.join(FIX, 'calib-synth-logits.npy'), sx)
    np.save(os.path.join(FIX, 'calib-synth-labels.npy'), sy)
    datasets = {
        'wrn': ('data/sample/logits.npy', 'data/sample/labels.npy'),
        'lenet': ('data/sample/lenet-logits.npy', 'data/sample/lenet-labels.npy'),
        'synth': ('test/fixtures/calib-synth-logits.npy', 'test/fixtures/calib-synth-labels.npy'),
    }
    cases = [('temperature', None), ('bcts', None), ('vector', None), ('matrix', 1e-3), ('matrix', 0.1)]
    out = {'generator': 'scripts/scipy-calibration-reference.py', 'numpy': np.__version__, 'scipy': scipy.__version__, 'results': []}
    for name, (lp, yp) in datasets.items():
        x = np.load(os.path.join(ROOT, lp)).astype(np.float32).astype(np.float64)
        y = np.load(os.path.join(ROOT, yp)).astype(np.int64)
        for method, l2 in cases:
            r = fit(method, x, y, l2 or 0.0)
            entry = {'dataset': name, 'logits': lp, 'labels': yp, 'method': method, **({'l2': l2} if l2 is not None else {}), **r}
            out['results'].append(entry)
            print(f"{name:6s} {method:12s} l2={l2} fun={r['fun']:.12f} nit={r['iterations']} |g|={r['gradMax']:.1e} {r['message']}", file=sys.stderr)
    with open(os.path.join(FIX, 'scipy-calibration.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
