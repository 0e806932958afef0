#!/usr/bin/python3
"""Trains the digits demo's model and writes everything the demo, the example and the tests read.

scikit-learn's bundled 8x8 digits (sklearn.datasets.load_digits: 1797 images, pixel values 0-16,
the UCI optdigits set: 32x32 bitmaps, each 4x4 block counted) — no download. A seeded stratified
split: 997 rows to train on, 400 to calibrate (`logitkit fit`, `logitkit conformal`, `logitkit ood`),
400 to test. The classifier is a one-hidden-layer MLP, 64 -> 32 ReLU -> 10, trained with plain
full-batch gradient descent with momentum on the mean cross-entropy plus L2, the training images
augmented with their one-pixel shifts (people do not draw centred). Its input is the raw 0-16 pixel
values (the 1/16 scaling is folded into the first layer), so the ONNX graph takes exactly what the
demo's downsampling produces.

Writes data/digits/ (numbers from numpy 1.24.2 / scikit-learn 1.2.1, Debian's python3-numpy and
python3-sklearn; run with /usr/bin/python3 where another python3 shadows it):

  weights.npz                 w1 (64x32), b1 (32), w2 (32x10), b2 (10), float32: the whole model
  digits-mlp.onnx             the same model as an ONNX graph, Gemm -> Relu -> Gemm, input 'pixels'
                              [N, 64] float32 (0-16), output 'logits' [N, 10]; hand-encoded protobuf
  calib-logits.npy, calib-labels.npy, calib-images.npy   the calibration split (float32 / int32 / uint8)
  test-logits.npy,  test-labels.npy,  test-images.npy    the test split
  ood-logits.npy, ood-images.npy   400 images that are not digits (seeded): 200 uniform noise,
                              200 scribbles (random pen strokes rendered like optdigits); `logitkit ood`
                              takes them as the OOD set
  model.json                  how it was trained, its accuracy, the split sizes (read by the docs and tests)

The logits are the float32 forward pass (x @ w1 + b1, ReLU, @ w2 + b2), as onnxruntime computes it.
Re-running reproduces the files byte for byte on the same numpy.

    /usr/bin/python3 scripts/train-digits.py
"""
import json
import os
import struct

import numpy as np
from sklearn.datasets import load_digits

SEED = 20261207
HIDDEN = 32
EPOCHS = 2000
LR = 0.5
MOMENTUM = 0.9
L2 = 1e-4
OE = 0.03  # weight of the energy outlier-exposure term
M_IN = -12.0  # energy margins: digits below, outliers above
M_OUT = -4.0
TRAIN_OUTLIERS = 1000
SPLIT = {'train': 997, 'calib': 400, 'test': 400}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'digits')


def stratified_split(labels, rng):
    """Per class, shuffle its rows and deal them out to test, calib and train in proportion."""
    parts = {k: [] for k in SPLIT}
    n = len(labels)
    for c in range(10):
        rows = np.flatnonzero(labels == c)
        rng.shuffle(rows)
        n_test = round(len(rows) * SPLIT['test'] / n)
        n_calib = round(len(rows) * SPLIT['calib'] / n)
        parts['test'].extend(rows[:n_test])
        parts['calib'].extend(rows[n_test:n_test + n_calib])
        parts['train'].extend(rows[n_test + n_calib:])
    # Rounding per class can leave a row or two over or short: move them between train and the others.
    for k in ('test', 'calib'):
        while len(parts[k]) > SPLIT[k]:
            parts['train'].append(parts[k].pop())
        while len(parts[k]) < SPLIT[k]:
            parts[k].append(parts['train'].pop())
    return {k: np.array(sorted(v)) for k, v in parts.items()}


def shifted(images):
    """The images and their four one-pixel shifts (zeros shifted in)."""
    img = images.reshape(-1, 8, 8)
    out = [img]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        s = np.zeros_like(img)
        ys = slice(max(dy, 0), 8 + min(dy, 0))
        yd = slice(max(-dy, 0), 8 + min(-dy, 0))
        xs = slice(max(dx, 0), 8 + min(dx, 0))
        xd = slice(max(-dx, 0), 8 + min(-dx, 0))
        s[:, ys, xs] = img[:, yd, xd]
        out.append(s)
    return np.concatenate(out).reshape(-1, 64)


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.maximum(x @ w1 + b1, 0)
    return h, h @ w2 + b2


def train(x, y, outliers, rng):
    """Full-batch gradient descent with momentum, in float64, on

        mean CE(x, y) + L2/2 ||W||^2 + OE * (mean relu(E(x) - M_IN)^2 + mean relu(M_OUT - E(o))^2)

    with E(z) = -logsumexp(z) the energy score and o the training outliers: the energy-bounded
    outlier exposure of Liu et al. (NeurIPS 2020). Without it a ReLU network is as sure of uniform
    noise as of a digit (the energy threshold flagged 17% of noise images), since noise drives
    every hidden unit hard."""
    x = x / 16.0
    o = outliers / 16.0
    n = len(x)
    w1 = rng.normal(0, np.sqrt(2 / 64), (64, HIDDEN))
    b1 = np.zeros(HIDDEN)
    w2 = rng.normal(0, np.sqrt(2 / HIDDEN), (HIDDEN, 10))
    b2 = np.zeros(10)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y]
    for epoch in range(EPOCHS):
        h, z = forward(params, x)
        zmax = z.max(axis=1)
        z = z - zmax[:, None]
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        # dE/dz = -softmax(z)
        energy = -(np.log(np.exp(z).sum(axis=1)))  # z is max-shifted: add the max back
        energy -= zmax
        dz = (p - onehot) / n - OE * 2 * np.maximum(energy - M_IN, 0)[:, None] * p / n
        ho, zo = forward(params, o)
        zo_max = zo.max(axis=1, keepdims=True)
        po = np.exp(zo - zo_max)
        so = po.sum(axis=1, keepdims=True)
        po /= so
        energy_o = -(np.log(so[:, 0]) + zo_max[:, 0])
        dzo = OE * 2 * np.maximum(M_OUT - energy_o, 0)[:, None] * po / len(o)
        gw2 = h.T @ dz + ho.T @ dzo + L2 * w2
        gb2 = dz.sum(axis=0) + dzo.sum(axis=0)
        dh = (dz @ w2.T) * (h > 0)
        dho = (dzo @ w2.T) * (ho > 0)
        gw1 = x.T @ dh + o.T @ dho + L2 * w1
        gb1 = dh.sum(axis=0) + dho.sum(axis=0)
        for v, p_, g in zip(velocity, params, (gw1, gb1, gw2, gb2)):
            v *= MOMENTUM
            v -= LR * g
            p_ += v
    w1, b1, w2, b2 = params
    # Fold the 1/16 input scaling into the first layer: the model takes raw 0-16 pixels.
    return [a.astype(np.float32) for a in (w1 / 16.0, b1, w2, b2)]


def logits_f32(params, images):
    w1, b1, w2, b2 = params
    x = images.astype(np.float32)
    h = np.maximum(x @ w1 + b1, np.float32(0))
    return (h @ w2 + b2).astype(np.float32)


def render_strokes(strokes, rng):
    """Pen strokes (polylines in [0, 32)^2) drawn 2-3 px wide on a 32x32 bitmap, then each 4x4 block
    counted: the optdigits preprocessing, so scribbles look like the digits' pixels do."""
    bitmap = np.zeros((32, 32), dtype=bool)
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    radius = rng.uniform(1.0, 1.6)
    for pts in strokes:
        for (y0, x0), (y1, x1) in zip(pts[:-1], pts[1:]):
            # Distance from every pixel centre to the segment.
            dy, dx = y1 - y0, x1 - x0
            t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
            d2 = (yy - (y0 + t * dy)) ** 2 + (xx - (x0 + t * dx)) ** 2
            bitmap |= d2 <= radius * radius
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)).reshape(64)


def scribble(rng):
    """One to three random-walk strokes with momentum: zigzags, loops and hatching, not digits."""
    strokes = []
    for _ in range(rng.integers(1, 4)):
        pos = rng.uniform(2, 30, 2)
        angle = rng.uniform(0, 2 * np.pi)
        pts = [pos.copy()]
        for _ in range(rng.integers(6, 20)):
            angle += rng.normal(0, 1.2)
            pos = np.clip(pos + rng.uniform(2, 6) * np.array([np.sin(angle), np.cos(angle)]), 0, 31.9)
            pts.append(pos.copy())
        strokes.append(pts)
    return render_strokes(strokes, rng)


def ood_images(rng, n):
    noise = rng.integers(0, 17, (n // 2, 64))
    scribbles = np.stack([scribble(rng) for _ in range(n - n // 2)])
    return np.concatenate([noise, scribbles]).astype(np.uint8)


# ---------------------------------------------------------------- ONNX, encoded by hand
# Protobuf wire format: each field is a varint key (field_number << 3 | wire_type) then its value;
# wire type 0 = varint, 2 = length-delimited (strings, bytes, messages). Field numbers from
# onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, TypeProto).

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_int(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def tensor(name, array):
    # TensorProto: dims = 1, data_type = 2 (FLOAT = 1), name = 8, raw_data = 9 (little-endian)
    msg = b''.join(field_int(1, d) for d in array.shape)
    msg += field_int(2, 1) + field_bytes(8, name) + field_bytes(9, array.astype('<f4').tobytes())
    return msg


def value_info(name, dims):
    # ValueInfoProto { name = 1, type = 2 }; TypeProto { tensor_type = 1 };
    # TypeProto.Tensor { elem_type = 1, shape = 2 }; TensorShapeProto { dim = 1 };
    # Dimension { dim_value = 1, dim_param = 2 }
    shape = b''.join(field_bytes(1, field_bytes(2, d) if isinstance(d, str) else field_int(1, d)) for d in dims)
    tensor_type = field_int(1, 1) + field_bytes(2, shape)
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor_type))


def node(op, inputs, outputs, name):
    # NodeProto { input = 1, output = 2, name = 3, op_type = 4 }
    msg = b''.join(field_bytes(1, i) for i in inputs) + b''.join(field_bytes(2, o) for o in outputs)
    return msg + field_bytes(3, name) + field_bytes(4, op)


def onnx_model(params):
    w1, b1, w2, b2 = params
    # GraphProto { node = 1, name = 2, initializer = 5, input = 11, output = 12 }
    graph = field_bytes(1, node('Gemm', ['pixels', 'w1', 'b1'], ['hidden_pre'], 'fc1'))
    graph += field_bytes(1, node('Relu', ['hidden_pre'], ['hidden'], 'relu'))
    graph += field_bytes(1, node('Gemm', ['hidden', 'w2', 'b2'], ['logits'], 'fc2'))
    graph += field_bytes(2, 'logitkit-digits-mlp')
    for name, a in (('w1', w1), ('b1', b1), ('w2', w2), ('b2', b2)):
        graph += field_bytes(5, tensor(name, a))
    graph += field_bytes(11, value_info('pixels', ['N', 64]))
    graph += field_bytes(12, value_info('logits', ['N', 10]))
    # ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 };
    # OperatorSetIdProto { domain = 1, version = 2 }: IR 8, opset 13 (Gemm-13, Relu-13)
    return field_int(1, 8) + field_bytes(2, 'logitkit scripts/train-digits.py') + field_bytes(7, graph) + field_bytes(8, field_bytes(1, '') + field_int(2, 13))


def main():
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images = digits.data.astype(np.uint8)
    labels = digits.target.astype(np.int32)
    split = stratified_split(labels, rng)
    x_train = shifted(images[split['train']].astype(np.float64))
    y_train = np.tile(labels[split['train']], 5)
    # Training outliers from their own generator: the committed OOD set is drawn after training, so
    # the model has never seen those images.
    outliers = ood_images(np.random.default_rng(SEED + 1), TRAIN_OUTLIERS).astype(np.float64)
    params = train(x_train, y_train, outliers, rng)

    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, 'weights.npz'), w1=params[0], b1=params[1], w2=params[2], b2=params[3])
    with open(os.path.join(OUT, 'digits-mlp.onnx'), 'wb') as f:
        f.write(onnx_model(params))

    info = {
        'dataset': 'sklearn.datasets.load_digits (UCI optdigits, 8x8, pixel values 0-16)',
        'model': f'MLP 64 -> {HIDDEN} ReLU -> 10, input = raw 0-16 pixels',
        'training': {'seed': SEED, 'epochs': EPOCHS, 'learningRate': LR, 'momentum': MOMENTUM, 'l2': L2,
                     'augmentation': 'one-pixel shifts (x5 rows)', 'rows': int(len(split['train'])),
                     'outlierExposure': {'weight': OE, 'energyIn': M_IN, 'energyOut': M_OUT,
                                         'outliers': f'{TRAIN_OUTLIERS} noise and scribble images, seed {SEED + 1}'}},
        'splits': {k: int(len(v)) for k, v in split.items()},
        'accuracy': {},
    }
    for name in ('train', 'calib', 'test'):
        z = logits_f32(params, images[split[name]])
        acc = float((z.argmax(axis=1) == labels[split[name]]).mean())
        info['accuracy'][name] = round(acc, 4)
        if name == 'train':
            continue
        np.save(os.path.join(OUT, f'{name}-logits.npy'), z)
        np.save(os.path.join(OUT, f'{name}-labels.npy'), labels[split[name]])
        np.save(os.path.join(OUT, f'{name}-images.npy'), images[split[name]])
    ood = ood_images(rng, 400)
    np.save(os.path.join(OUT, 'ood-images.npy'), ood)
    np.save(os.path.join(OUT, 'ood-logits.npy'), logits_f32(params, ood))
    info['ood'] = {'rows': int(len(ood)), 'noise': 200, 'scribbles': 200}
    with open(os.path.join(OUT, 'model.json'), 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')
    print(json.dumps(info['accuracy']))


if __name__ == '__main__':
    main()
