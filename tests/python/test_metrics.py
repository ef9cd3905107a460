#!/usr/bin/python3
"""Faithfulness and localisation metrics of `gradcam explain --metrics`
(README, "Metrics") against an independent NumPy / PyTorch implementation of
the same definitions, and Grad-CAM against the baselines on the demo model.

The oracle below shares no code with src/cam/metrics.c: the model is
PyTorch's (demo/shapesnet.py on models/shapes.pth), the map is upsampled by
OpenCV, the imputation's sparse system is solved directly by SciPy (the C code
uses SSOR-preconditioned conjugate gradients started from a coarser grid's
solution), the blur is a conv2d.
Every metric of every map must agree within 1e-4.

Then, over more held-out scenes, Grad-CAM must beat both baselines (uniform
random and centred Gaussian maps) on every metric's mean: deletion, ROAD
MoRF and Average Drop lower; insertion, ROAD LeRF, the ROAD gap LeRF - MoRF,
pointing and energy higher; Increase in Confidence higher or equal. One
exception, printed but not asserted: ROAD LeRF alone against the random map
(scattered random pixels are what imputation restores best).

Last, the model-randomisation sanity check (explain --sanity): the Spearman
correlations the tool reports equal SciPy's on the maps it wrote, and the
maps of cascade-randomised models differ from the real ones.

Usage: test_metrics.py --gradcam BIN --source DIR [--images N] [--oracle-images K]"""
import argparse, json, os, sys, tempfile, time, warnings

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import scipy.sparse
import scipy.sparse.linalg
from PIL import Image

from clitest import check, finish, run

STEPS = 20
ROAD = [0.1 * k for k in range(1, 10)]
NOISE = 0.01
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix(v):
    v = v + np.uint64(0x9E3779B97F4A7C15)
    v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return v ^ (v >> np.uint64(31))


def road_noise(level, P, seed=0):
    """[3, P] standard normal values of README's generator."""
    with np.errstate(over="ignore"):
        c = np.arange(3, dtype=np.uint64)[:, None]
        q = np.arange(P, dtype=np.uint64)[None, :]
        key = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) +
               (np.uint64(level) * np.uint64(3) + c) * np.uint64(P) + q)
        u1 = ((splitmix(np.uint64(2) * key) >> np.uint64(11)).astype(np.float64) + 1) * 2.0 ** -53
        u2 = (splitmix(np.uint64(2) * key + np.uint64(1)) >> np.uint64(11)).astype(np.float64) \
            * 2.0 ** -53
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def baseline(kind, index, S):
    if kind == "baseline_gaussian":
        c, s = (S - 1) / 2.0, S / 4.0
        y, x = np.mgrid[0:S, 0:S]
        return np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * s * s)).astype(np.float32)
    with np.errstate(over="ignore"):
        z0 = np.uint64(0x2545F4914F6CDD1D) ^ (np.uint64(index) * np.uint64(0x9E3779B97F4A7C15))
        k = np.arange(1, S * S + 1, dtype=np.uint64)
        v = splitmix(z0 + k * np.uint64(0x9E3779B97F4A7C15) - np.uint64(0x9E3779B97F4A7C15))
    return ((v >> np.uint64(11)).astype(np.float64) * 2.0 ** -53).astype(np.float32).reshape(S, S)


def impute(x, removed_sets):
    """x [3,H,W] float64; removed_sets [L,H,W] bool -> [L,3,H,W] with every removed
    pixel the weighted mean of its in-image neighbours (sides 1/6, corners 1/12),
    all removed pixels solved jointly (SciPy's sparse direct solver), before noise."""
    H, W = x.shape[1:]
    out = np.repeat(x[None], len(removed_sets), 0)
    for j, rem in enumerate(removed_sets):
        ys, xs = np.nonzero(rem)
        idx = -np.ones((H, W), np.int64)
        idx[ys, xs] = np.arange(len(ys))
        rows, cols, vals = [], [], []
        diag = np.zeros(len(ys))
        b = np.zeros((len(ys), 3))
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy == dx == 0:
                    continue
                wt = 1 / 6 if dy == 0 or dx == 0 else 1 / 12
                ny, nx = ys + dy, xs + dx
                ok = (ny >= 0) & (ny < H) & (nx >= 0) & (nx < W)
                diag[ok] += wt
                nb = np.where(ok, idx[np.clip(ny, 0, H - 1), np.clip(nx, 0, W - 1)], -1)
                unknown = ok & (nb >= 0)
                rows.append(np.nonzero(unknown)[0])
                cols.append(nb[unknown])
                vals.append(np.full(unknown.sum(), -wt))
                known = ok & (nb < 0)
                b[known] += wt * x[:, ny[known], nx[known]].T
        n = len(ys)
        A = scipy.sparse.csc_matrix((np.concatenate(vals + [diag]),
                                     (np.concatenate(rows + [np.arange(n)]),
                                      np.concatenate(cols + [np.arange(n)]))), shape=(n, n))
        sol = scipy.sparse.linalg.spsolve(A, b)
        out[j][:, ys, xs] = sol.T
    return out


def probs(model, xs, cls):
    with torch.no_grad():
        out = []
        for k in range(0, len(xs), 64):
            logits = model(torch.as_tensor(np.stack(xs[k:k + 64])).float()).double()
            out.append(torch.softmax(logits, 1)[:, cls].numpy())
    return np.concatenate(out)


def auc(p):
    return (p.sum() - 0.5 * (p[0] + p[-1])) / (len(p) - 1)


def oracle_metrics(model, x, cls, sal, box, mean, std):
    """x [3,S,S] float32 numpy, sal [S,S] float32 -> dict of the README's metrics."""
    S = x.shape[1]
    P = S * S
    order = np.argsort(-sal.ravel(), kind="stable")
    xs = [x]
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / 50.0)
    g /= g.sum()
    k2 = torch.tensor(np.outer(g, g))[None, None].expand(3, 1, 11, 11)
    blurred = F.conv2d(torch.tensor(x, dtype=torch.float64)[None], k2, padding=5,
                       groups=3)[0].float().numpy()
    for start, source in ((x, x), (blurred, x)):
        deleting = start is x
        for k in range(STEPS + 1):
            img = start.copy().reshape(3, P)
            n = k * P // STEPS
            img[:, order[:n]] = 0.0 if deleting else source.reshape(3, P)[:, order[:n]]
            xs.append(img.reshape(3, S, S))
    sets = []
    for lerf in (0, 1):
        for f in ROAD:
            m = int(np.floor(f * P + 0.5))
            rem = np.zeros(P, bool)
            rem[order[P - m:] if lerf else order[:m]] = True
            sets.append(rem.reshape(S, S))
    imp = impute(x.astype(np.float64), sets)
    for j, rem in enumerate(sets):
        level = 2 * (j % len(ROAD)) + j // len(ROAD)
        noisy = imp[j].reshape(3, P) + NOISE * road_noise(level, P) * rem.ravel()[None]
        xs.append(noisy.astype(np.float32).reshape(3, S, S))
    lo, hi = float(sal.min()), float(sal.max())
    Lmap = (sal.astype(np.float64) - lo) / (hi - lo) if hi > lo else np.zeros_like(sal, np.float64)
    m64 = np.asarray(mean, np.float64)[:, None, None]
    s64 = np.asarray(std, np.float64)[:, None, None]
    xs.append((((x * s64 + m64) * Lmap - m64) / s64).astype(np.float32))
    p = probs(model, xs, cls)
    R = len(ROAD)
    d = {"p": p[0], "deletion": auc(p[1:STEPS + 2]), "insertion": auc(p[STEPS + 2:2 * STEPS + 3]),
         "road_morf": p[2 * STEPS + 3:2 * STEPS + 3 + R].mean(),
         "road_lerf": p[2 * STEPS + 3 + R:2 * STEPS + 3 + 2 * R].mean(),
         "p_explanation": p[-1]}
    d["road"] = d["road_lerf"] - d["road_morf"]
    d["drop"] = max(0.0, d["p"] - d["p_explanation"]) / d["p"]
    d["increase"] = bool(d["p_explanation"] > d["p"])
    inside = np.zeros((S, S), bool)
    x0, y0, x1, y1 = box
    inside[y0:y1 + 1, x0:x1 + 1] = True
    d["pointing"] = bool(inside.ravel()[int(np.argmax(sal.ravel()))])
    pos = np.maximum(sal.astype(np.float64), 0)
    d["energy"] = pos[inside].sum() / pos.sum() if pos.sum() > 0 else 0.0
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--oracle-images", type=int, default=3)
    a = ap.parse_args()
    t0 = time.time()
    torch.set_num_threads(2)
    sys.path.insert(0, os.path.join(a.source, "demo"))
    import scenes, shapesnet
    model_path = os.path.join(a.source, "models", "shapes.pth")
    model, desc = shapesnet.load(model_path)
    tmp = tempfile.mkdtemp(prefix="gc_metrics_")
    items = []
    with open(os.path.join(tmp, "m.jsonl"), "w") as f:
        for i in range(a.images):
            img, objs = scenes.make_scene(scenes.scene_seed(6, 500 + i), 1)
            Image.fromarray(img).save(os.path.join(tmp, "m%02d.png" % i))
            items.append((img, objs[0]))
            f.write(json.dumps({"path": "m%02d.png" % i, "target": objs[0]["class"],
                                "box": objs[0]["box"]}) + "\n")
    out = os.path.join(tmp, "out")
    rc, so, se = run([a.gradcam, "explain", "--model", model_path, "--manifest",
                      os.path.join(tmp, "m.jsonl"), "--out", out, "--metrics", "--baselines",
                      "--steps", str(STEPS), "--quiet"])
    check(rc == 0, "explain --metrics --baselines on %d scenes" % a.images, se[-300:])
    recs = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
    names = ("gradcam", "baseline_random", "baseline_gaussian")
    check(all(set(names) <= set(r["metrics"]) for r in recs), "every record has the three maps")
    keys = ("p", "deletion", "insertion", "road_morf", "road_lerf", "road", "p_explanation",
            "drop", "energy")
    mean = np.float32(desc["mean"]).astype(np.float64)
    std = np.float32(desc["std"]).astype(np.float64)
    worst = {}
    flags_ok = True
    for i in range(a.oracle_images):
        img, obj = items[i]
        r = recs[i]
        x = shapesnet.preprocess(img, desc["mean"], desc["std"])[0].numpy()
        S = x.shape[1]
        cam = np.load(os.path.join(out, r["stem"] + ".gradcam.cam.npy"))[0]
        maps = {"gradcam": cv2.resize(cam, (S, S), interpolation=cv2.INTER_LINEAR),
                "baseline_random": baseline("baseline_random", i, S),
                "baseline_gaussian": baseline("baseline_gaussian", i, S)}
        for name in names:
            want = oracle_metrics(model, x, r["class"], maps[name], obj["box"], mean, std)
            got = r["metrics"][name]
            for k in keys:
                worst[k] = max(worst.get(k, 0.0), abs(got[k] - want[k]))
            flags_ok &= got["pointing"] == want["pointing"]
            if abs(want["p_explanation"] - want["p"]) > 1e-4:
                flags_ok &= got["increase"] == want["increase"]
    for k in keys:
        check(worst[k] <= 1e-4, "%-13s matches the independent implementation" % k,
              "max |C - oracle| = %.2e over %d images x 3 maps" % (worst[k], a.oracle_images))
    check(flags_ok, "pointing game and increase-in-confidence flags match the oracle")

    def mean_of(name, key):
        return float(np.mean([float(r["metrics"][name][key]) for r in recs]))
    summary = {n: {k: mean_of(n, k) for k in ("deletion", "insertion", "road_morf",
                                              "road_lerf", "road", "drop", "increase",
                                              "pointing", "energy")} for n in names}
    lower = ("deletion", "road_morf", "drop")
    for base in names[1:]:
        for k, v in summary["gradcam"].items():
            b = summary[base][k]
            if base == "baseline_random" and k == "road_lerf":
                # Not a contest: removing scattered random pixels is what the
                # imputation undoes best, so a random map keeps LeRF high
                # (measured 0.95 vs Grad-CAM's 0.91). ROAD compares maps by
                # MoRF and by the gap LeRF - MoRF ("road"), both checked.
                print("note Grad-CAM vs random on road_lerf alone: %.4f vs %.4f" % (v, b))
                continue
            better = v < b if k in lower else (v >= b if k == "increase" else v > b)
            check(better, "Grad-CAM beats %s on %s" % (base, k),
                  "%.4f vs %.4f over %d scenes" % (v, b, len(recs)))
    print(json.dumps(summary, indent=1))

    # The model-randomisation sanity check (Adebayo et al. 2018): the maps of
    # cascade-randomised models, their Spearman correlation recomputed here.
    import scipy.stats
    warnings.simplefilter("ignore")  # SciPy warns about constant (all-zero) maps
    stages = ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"]
    san = os.path.join(tmp, "sanity")
    rc, so, se = run([a.gradcam, "explain", "--model", model_path, "--manifest",
                      os.path.join(tmp, "m.jsonl"), "--out", san, "--sanity", ",".join(stages),
                      "--quiet"])
    srecs = [json.loads(l) for l in open(os.path.join(san, "results.jsonl"))] if rc == 0 else []
    check(rc == 0 and len(srecs) == len(recs), "explain --sanity " + ",".join(stages), se[-300:])
    worst, rhos = 0.0, {k: [] for k in stages}
    for r in srecs:
        cam = np.load(os.path.join(san, r["stem"] + ".gradcam.cam.npy"))[0].ravel()
        rnd = np.load(os.path.join(san, r["stem"] + ".sanity.npy"))
        for k, stage in enumerate(stages):
            rho = scipy.stats.spearmanr(cam, rnd[k].ravel()).correlation
            rho = 0.0 if np.isnan(rho) else rho
            worst = max(worst, abs(rho - r["sanity"][stage]))
            rhos[stage].append(r["sanity"][stage])
    check(srecs and worst < 1e-9, "Spearman correlations equal SciPy's",
          "max difference %.1e" % worst)
    means = {k: float(np.mean(v)) for k, v in rhos.items() if v}
    print("mean Spearman rho per cascade stage:", json.dumps(means))
    check(means and all(abs(means[k]) < 0.5 for k in stages[1:]),
          "maps of models randomised from layer4 down differ from the real ones (|mean rho| < 0.5)",
          str(means))
    check(means and means["fc"] < 0.9, "randomising only fc already changes the maps (mean rho < 0.9)",
          "%.3f" % means.get("fc", 1))
    print("%.0f s" % (time.time() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
