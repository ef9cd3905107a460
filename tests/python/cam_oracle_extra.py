#!/usr/bin/python3
"""PyTorch reference for the rest of the CAM family (issue 5), written from
each definition, on top of cam_oracle.py (imported, not copied).

What it is: the independent implementation that `test_methods_extra.py`
measures the C tool against, for

  cam            at the layer feeding global average pooling:
                 w_k = fc.weight[c, k]; ReLU(sum_k w_k A_k)
  fem            mu_k = mean_p A_k, sigma_k = population std_p A_k;
                 P_k = mu_k * [A_k >= mu_k + 2 sigma_k]; ReLU(sum_k P_k)
  fullgrad       at the input size, per image: sum over the 3 input planes of
                 scale(|dy_c/dx * x|) + over every BatchNorm and channel k,
                 resize(scale(|dy_c/d(BN output)_k * b_k|)), with
                 b = beta - running_mean * gamma / sqrt(running_var + eps);
                 scale(v) = (v - min) / (max - min + 1e-7), resize =
                 cv2.resize of the float32 plane to (W, H), INTER_LINEAR;
                 the sum is not normalised
  several layers per layer: raw map -> scale -> resize -> clamp at 0; mean
                 over layers; scale again ([N,H,W])
  eigen-smooth   ReLU of the contributions P [hw, K] (column-centred)
                 projected on their first right singular vector, sign
                 flipped so that the largest-|.| entry is positive
  aug-smooth     a = 0..5: input * [1.0, 0.9, 1.1][a // 2], mirrored when a
                 is odd; class fixed on the original input; each raw map
                 mirrored back; the mean of the six
  targets        each image's k-th most likely class (ties to the lower
                 index), or a given class

P_k, a method's per-channel contribution: w_k A_k for the channel-weighting
methods (gradcam, xgradcam, gradcam++, scorecam, ablationcam, cam),
mu_k * mask_k for fem, A_k G_k for hirescam, ReLU(A_k G_k) for
gradcamelementwise, ReLU(G_k) A_k for layercam, A_k for eigencam and
A_k G_k for eigengradcam. Without eigen-smoothing a map is ReLU(sum_k P_k).

A and G come from a forward/backward on oracle.py's non-aliasing copy of
the model (the module's true output and the gradient with respect to it).
Maps are computed in float64 from the float32 tensors; the SVD is LAPACK's
in float64.

What it deliberately does not do: methods already in cam_oracle.py's list
without a modifier (that test exists), counterfactual fullgrad or guided
methods, figures.

Run `/usr/bin/python3 cam_oracle_extra.py --selftest` to check this
reference by itself: the contributions summed against cam_oracle.py's
maps, cam == hw * gradcam at layer4 (GAP + linear), FEM and the fullgrad
input term against plain loops, FullGrad's completeness (y_c = x.dy/dx +
sum of bias x bias-gradient, exact for a ReLU network with BN biases), the
float64 SVD projection against an eigen-decomposition, cv2's resize
against torch's half-pixel bilinear upsampling, and the augmentation at
factor 1 without flip against the plain map.
"""
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle as co  # noqa: E402
import oracle  # noqa: E402

SCALE_EPS = 1e-7
BRIGHTNESS = (1.0, 0.9, 1.1)
NUM_AUG = 6
CHANNEL_WEIGHTED = ("gradcam", "xgradcam", "gradcam++", "scorecam",
                    "ablationcam", "cam")
POSITIONAL = ("hirescam", "gradcamelementwise", "layercam", "eigencam",
              "eigengradcam")
METHODS = CHANNEL_WEIGHTED + ("fem",) + POSITIONAL
ALWAYS_EIGEN = ("eigencam", "eigengradcam")


def _d(t):
    return t.detach().double()


# --- capture: several layers, any class per image ----------------------------

def pick_classes(logits, cls=None, rank=0):
    """[N] long: the given class for every image, or each image's rank-th
    largest logit (rank 0 = top-1; equal logits rank the lower index first,
    as a stable descending sort does)."""
    z = logits.detach().double().numpy()
    n, c = z.shape
    if cls is not None:
        if not 0 <= cls < c:
            raise ValueError("class %d out of range" % cls)
        return torch.full((n,), cls, dtype=torch.long)
    order = np.argsort(-z, axis=1, kind="stable")
    return torch.from_numpy(order[:, rank].copy()).long()


def capture(model, x, layers, cls=None, rank=0, classes=None):
    """One forward and one backward. Returns logits [N,C], classes [N] and
    {layer: (A, G)}. `classes` (a [N] tensor) overrides cls/rank: the
    augmentations explain the class chosen on the original input."""
    m = oracle.without_inplace(model)
    x = co._tensor(x, m)
    acts = {L: [] for L in layers}
    hooks = [co._module(m, L).register_forward_hook(
        lambda mod, inp, out, L=L: acts[L].append(out)) for L in layers]
    try:
        with torch.enable_grad():
            logits = m(x)
    finally:
        for h in hooks:
            h.remove()
    for L in layers:
        if len(acts[L]) != 1 or acts[L][0].dim() != 4:
            raise ValueError("layer %r must run once and give [N,C,h,w]" % L)
    if classes is None:
        classes = pick_classes(logits, cls, rank)
    score = logits.gather(1, classes[:, None]).sum()
    grads = torch.autograd.grad(score, [acts[L][0] for L in layers])
    return (logits.detach(), classes,
            {L: (acts[L][0].detach(), g.detach()) for L, g in zip(layers, grads)})


# --- per-channel contributions -----------------------------------------------

def fem_contributions(A):
    """mu_k * [A_k >= mu_k + 2 sigma_k] (population sigma), float64."""
    a = _d(A)
    mu = a.mean(dim=(2, 3), keepdim=True)
    sigma = ((a - mu) ** 2).mean(dim=(2, 3), keepdim=True).sqrt()
    return torch.where(a >= mu + 2 * sigma, mu.expand_as(a), torch.zeros_like(a))


def channel_weights(method, model, x, layer, A, G, logits, classes, cache):
    """w [N,K] float64 for the channel-weighting methods. `cache` keeps
    Score-CAM's probabilities and Ablation-CAM's logits (class-independent)
    for one (model, input, layer)."""
    a, g = _d(A), _d(G) if G is not None else None
    if method == "gradcam":
        return g.mean(dim=(2, 3))
    if method == "xgradcam":
        return (g * a).sum(dim=(2, 3)) / (a.sum(dim=(2, 3)) + co.XGRAD_EPS)
    if method == "gradcam++":
        g2 = g * g
        s = a.sum(dim=(2, 3), keepdim=True)
        alpha = g2 / (2 * g2 + s * g2 * g + co.PLUSPLUS_EPS)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
        return (alpha * torch.relu(g)).sum(dim=(2, 3))
    if method == "cam":
        return _d(model.fc.weight)[classes]
    if method == "scorecam":
        if "probs" not in cache:
            cache["probs"] = co.masked_probs(model, x, A)
        return co.scorecam(model, x, A, classes, cache["probs"])[1]
    if method == "ablationcam":
        if "yk" not in cache:
            cache["yk"] = co.ablated_logits(model, x, layer, A)
        return co.ablationcam(model, x, layer, A, logits, classes, cache["yk"])[1]
    raise KeyError(method)


def contributions(method, model, x, layer, A, G, logits, classes, cache=None):
    """P [N,K,h,w] float64, the method's per-channel contribution."""
    cache = {} if cache is None else cache
    if method in CHANNEL_WEIGHTED:
        w = channel_weights(method, model, x, layer, A, G, logits, classes, cache)
        return w[:, :, None, None] * _d(A)
    if method == "fem":
        return fem_contributions(A)
    a = _d(A)
    g = _d(G) if G is not None else None
    if method == "hirescam" or method == "eigengradcam":
        return a * g
    if method == "gradcamelementwise":
        return torch.relu(a * g)
    if method == "layercam":
        return torch.relu(g) * a
    if method == "eigencam":
        return a
    raise KeyError(method)


def first_component64(M):
    """Projection of M [hw,K] (float64), centred per column, on its first
    right singular vector (float64 LAPACK); the sign makes the largest-|.|
    entry positive (the first such entry on a tie)."""
    M = np.asarray(M, np.float64)
    M = M - M.mean(axis=0)
    if not np.any(M):
        return np.zeros(M.shape[0])
    _, _, vt = np.linalg.svd(M, full_matrices=False)
    p = M @ vt[0]
    if p[np.argmax(np.abs(p))] < 0:
        p = -p
    return p


def reduce(P, eigen):
    """[N,K,h,w] -> [N,h,w]: ReLU(sum_k P_k), or ReLU(first principal
    projection) with eigen."""
    if not eigen:
        return torch.relu(P.sum(1))
    P = P.numpy()
    n, k, h, w = P.shape
    out = np.empty((n, h, w))
    for i in range(n):
        out[i] = first_component64(P[i].reshape(k, h * w).T).reshape(h, w)
    return torch.relu(torch.from_numpy(out))


def raw_map(method, model, x, layer, A, G, logits, classes, eigen=False,
            cache=None):
    """The raw map [N,h,w] (float64) of one method at one layer."""
    P = contributions(method, model, x, layer, A, G, logits, classes, cache)
    return reduce(P, eigen or method in ALWAYS_EIGEN)


# --- normalise, resize, combine ----------------------------------------------

def scale(v):
    """(v - min) / (max - min + 1e-7) over the whole array, float64."""
    v = np.asarray(v, np.float64)
    return (v - v.min()) / (v.max() - v.min() + SCALE_EPS)


def resize(plane, H, W):
    """cv2.resize of the float32 plane to (W, H), bilinear; float64 back."""
    return cv2.resize(np.asarray(plane, np.float32), (W, H),
                      interpolation=cv2.INTER_LINEAR).astype(np.float64)


def combine_layers(maps, H, W):
    """maps: list of [N,h_l,w_l] raw maps, one per layer -> [N,H,W]:
    per layer and image scale, resize, clamp at 0; mean over layers; scale."""
    n = maps[0].shape[0]
    out = np.empty((n, H, W))
    for i in range(n):
        acc = np.zeros((H, W))
        for m in maps:
            acc += np.maximum(resize(scale(np.asarray(m[i])), H, W), 0.0)
        out[i] = scale(acc / len(maps))
    return out


def explain(model, x, layers, methods, cls=None, rank=0, classes=None,
            eigen=False, caches=None):
    """{method: [N,h,w] (one layer) or [N,H,W] (several)} as float64 numpy,
    plus 'logits' and 'classes', for one forward pass of x. `caches`: a
    dict {layer: cache} kept by the caller for one model and input."""
    x = co._tensor(x, model)
    caches = {} if caches is None else caches
    logits, classes, ag = capture(model, x, layers, cls, rank, classes)
    H, W = x.shape[2:]
    out = {"logits": logits.numpy(), "classes": classes}
    for m in methods:
        per_layer = [raw_map(m, model, x, L, ag[L][0], ag[L][1], logits,
                             classes, eigen, caches.setdefault(L, {})).numpy()
                     for L in layers]
        out[m] = per_layer[0] if len(layers) == 1 else \
            combine_layers(per_layer, H, W)
    return out


# --- aug-smooth --------------------------------------------------------------

def augment(x, a):
    """Augmentation a of the normalised input [N,3,H,W] (numpy float32)."""
    y = np.float32(BRIGHTNESS[a // 2]) * np.asarray(x, np.float32)
    if a % 2:
        y = y[..., ::-1]
    return np.ascontiguousarray(y)


def aug_smooth(model, x, layers, methods, cls=None, rank=0, eigen=False):
    """{method: the mean over the six augmentations of the (raw or
    combined) map, each mirrored back}, plus 'logits' and 'classes' of the
    original input."""
    x = np.asarray(x, np.float32)
    with torch.no_grad():
        logits = oracle.without_inplace(model)(co._tensor(x, model))
    classes = pick_classes(logits, cls, rank)
    acc = {}
    for a in range(NUM_AUG):
        r = explain(model, augment(x, a), layers, methods, classes=classes,
                    eigen=eigen)
        for m in methods:
            v = r[m][..., ::-1] if a % 2 else r[m]
            acc[m] = acc.get(m, 0.0) + v
    out = {m: acc[m] / NUM_AUG for m in methods}
    out["logits"] = logits.numpy()
    out["classes"] = classes
    return out


# --- FullGrad ----------------------------------------------------------------

def bn_bias(bn):
    """The shift of an eval-mode BatchNorm: beta - mean * gamma / sqrt(var + eps)."""
    return (_d(bn.bias) - _d(bn.running_mean) * _d(bn.weight) /
            torch.sqrt(_d(bn.running_var) + bn.eps))


def fullgrad_terms(model, x, classes):
    """(x, dy/dx, [(bias [K], dy/d(BN output) [N,K,h,w]) per BatchNorm],
    logits), gradients of sum_i y_{i,c_i} on the non-aliasing copy."""
    m = oracle.without_inplace(model)
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    outs = {}
    hooks = [bn.register_forward_hook(
        lambda mod, inp, out, i=i: outs.setdefault(i, []).append(out))
        for i, bn in enumerate(bns)]
    xt = co._tensor(x, m).clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            logits = m(xt)
    finally:
        for h in hooks:
            h.remove()
    if any(len(outs.get(i, [])) != 1 for i in range(len(bns))):
        raise ValueError("every BatchNorm must run once")
    score = logits.gather(1, classes[:, None]).sum()
    grads = torch.autograd.grad(score, [xt] + [outs[i][0] for i in range(len(bns))])
    return (xt.detach(), grads[0].detach(),
            [(bn_bias(bn), g.detach()) for bn, g in zip(bns, grads[1:])],
            logits.detach())


def fullgrad(model, x, cls=None, rank=0, classes=None):
    """[N,H,W] float64 and the classes."""
    x = co._tensor(x, model)
    if classes is None:
        with torch.no_grad():
            classes = pick_classes(oracle.without_inplace(model)(x), cls, rank)
    xt, gx, biases, _ = fullgrad_terms(model, x, classes)
    n, _, H, W = xt.shape
    out = np.zeros((n, H, W))
    for i in range(n):
        for ch in range(3):
            out[i] += scale((_d(gx[i, ch]) * _d(xt[i, ch])).abs().numpy())
        for b, g in biases:
            gi = _d(g[i])
            for k in range(gi.shape[0]):
                out[i] += resize(scale((gi[k] * b[k]).abs().numpy()), H, W)
    return out, classes


# --- self-test ---------------------------------------------------------------

def _fem_loop(A):
    A = A.double().numpy()
    n, k, h, w = A.shape
    out = np.zeros((n, h, w))
    for i in range(n):
        for c in range(k):
            vals = [float(v) for v in A[i, c].ravel()]
            mu = sum(vals) / len(vals)
            sd = (sum((v - mu) ** 2 for v in vals) / len(vals)) ** 0.5
            for y in range(h):
                for xx in range(w):
                    if A[i, c, y, xx] >= mu + 2 * sd:
                        out[i, y, xx] += mu
    return np.maximum(out, 0.0)


def _input_term_loop(x, gx, i):
    """sum over channels of scale(|g x|), pixel by pixel in Python."""
    x, gx = x[i].double().numpy(), gx[i].double().numpy()
    _, H, W = x.shape
    out = np.zeros((H, W))
    for ch in range(3):
        v = [[abs(gx[ch, y, q] * x[ch, y, q]) for q in range(W)] for y in range(H)]
        lo = min(min(r) for r in v)
        hi = max(max(r) for r in v)
        for y in range(H):
            for q in range(W):
                out[y, q] += (v[y][q] - lo) / (hi - lo + SCALE_EPS)
    return out


def selftest():
    torch.set_num_threads(max(1, min(2, torch.get_num_threads() or 1)))
    fails = 0

    def check(ok, what):
        nonlocal fails
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        fails += 0 if ok else 1

    size = (48, 64)
    for depth, widths, inner in ((18, (8, 16, 16, 32), "layer3.0.bn2"),
                                 (50, (4, 8, 8, 16), "layer2")):
        tag = "resnet%d" % depth
        model = co.make_model(depth, widths, 10, depth + 7, size)
        x = oracle.random_inputs((2, 3) + size, 11)
        xt = torch.from_numpy(x)
        for layer in ("layer4", inner):
            logits, classes, ag = capture(model, x, [layer])
            A, G = ag[layer]
            cap = co.capture(model, x, layer)
            check(torch.equal(A, cap["A"]) and torch.equal(G, cap["G"]),
                  "%s %s capture == cam_oracle.capture" % (tag, layer))
            cache = {}
            for m in ("gradcam", "hirescam", "gradcamelementwise", "xgradcam",
                      "gradcam++", "layercam", "eigencam", "eigengradcam"):
                e = oracle.rel_err(raw_map(m, model, xt, layer, A, G, logits,
                                           classes, cache=cache).numpy(),
                                   co.GRAD_FUNCS[m](A, G).numpy())
                tol = 1e-4 if m in ALWAYS_EIGEN else 1e-12  # theirs: float32 SVD
                check(e < tol, "%s %s %s contributions vs cam_oracle %.1e"
                      % (tag, layer, m, e))
            e = oracle.rel_err(
                raw_map("scorecam", model, xt, layer, A, G, logits, classes,
                        cache=cache).numpy(),
                co.scorecam(model, x, A, classes, cache["probs"])[0].numpy())
            check(e < 1e-12, "%s %s scorecam contributions vs cam_oracle %.1e"
                  % (tag, layer, e))
            e = oracle.rel_err(fem_contributions(A).sum(1).clamp(min=0).numpy(),
                               _fem_loop(A))
            check(e < 1e-12, "%s %s fem vs loop %.1e" % (tag, layer, e))
            for m in ("gradcam", "hirescam", "layercam"):
                P = contributions(m, model, xt, layer, A, G, logits, classes).numpy()
                e = oracle.rel_err(reduce(torch.from_numpy(P), True).numpy(),
                                   co._eigh_projection(P))
                check(e < 1e-8, "%s %s eigen-smooth %s: SVD vs eigh %.1e"
                      % (tag, layer, m, e))
                e = oracle.rel_err(reduce(torch.from_numpy(-P), True).numpy(),
                                   reduce(torch.from_numpy(P), True).numpy())
                check(e < 1e-12, "%s %s eigen-smooth %s: sign fixed %.1e"
                      % (tag, layer, m, e))
        # CAM = hw x Grad-CAM where the layer feeds GAP + one linear layer.
        logits, classes, ag = capture(model, x, ["layer4"], cls=3)
        A, G = ag["layer4"]
        hw = A.shape[2] * A.shape[3]
        e = oracle.rel_err(raw_map("cam", model, xt, "layer4", A, G, logits,
                                   classes).numpy(),
                           hw * co.gradcam(A, G).numpy())
        check(e < 1e-5, "%s cam == hw * gradcam at layer4 %.1e" % (tag, e))
        # FullGrad: input term by loops, completeness, total by parts.
        classes = pick_classes(logits)
        xg, gx, biases, lg = fullgrad_terms(model, x, classes)
        full, _ = fullgrad(model, x, classes=classes)
        e = max(oracle.rel_err(sum(scale((gx[i, c].double() * xg[i, c].double())
                                         .abs().numpy()) for c in range(3)),
                               _input_term_loop(xg, gx, i)) for i in range(2))
        check(e < 1e-12, "%s fullgrad input term vs loop %.1e" % (tag, e))
        x64, gx64 = xg.double(), gx.double()
        for i in range(2):
            y = lg[i, classes[i]].item()
            total = float((x64[i] * gx64[i]).sum()) + \
                model.fc.bias[classes[i]].item() + \
                sum(float((b[:, None, None] * g[i].double()).sum()) for b, g in biases)
            check(abs(total - y) < 1e-4 * max(1.0, abs(y)),
                  "%s fullgrad completeness image %d: x.g + sum b.g + b_fc = %.6g,"
                  " y = %.6g" % (tag, i, total, y))
        nbn = sum(isinstance(mm, nn.BatchNorm2d) for mm in model.modules())
        check(len(biases) == nbn and full.shape == (2,) + size and
              full.min() >= 0,
              "%s fullgrad: %d BatchNorms, shape %s, min %.3g"
              % (tag, len(biases), full.shape, full.min()))
        # Aug-smooth: augmentation 0 is the plain input; the mean of six.
        r0 = explain(model, augment(x, 0), ["layer4"], ["gradcam"])
        rp = explain(model, x, ["layer4"], ["gradcam"])
        check(np.array_equal(r0["gradcam"], rp["gradcam"]),
              "%s augmentation 0 is the identity" % tag)
        x1 = augment(x, 3)
        check(np.array_equal(x1, (np.float32(0.9) * x)[..., ::-1]),
              "%s augmentation 3 = 0.9 x, mirrored" % tag)
    # cv2's bilinear upscale = torch's half-pixel (align_corners=False).
    t = torch.rand(1, 1, 3, 4, dtype=torch.float64)
    e = oracle.rel_err(resize(t[0, 0].numpy(), 96, 128),
                       co.upsample(t, (96, 128))[0, 0].numpy())
    check(e < 1e-6, "cv2 resize == torch bilinear upsample %.1e" % e)
    # pick_classes: ranks by a stable descending sort.
    z = torch.tensor([[1.0, 3.0, 3.0, 2.0]])
    check([pick_classes(z, rank=r).item() for r in range(4)] == [1, 2, 3, 0],
          "ranks with a tie go to the lower index first")
    print("selftest passed" if fails == 0 else "%d FAILED" % fails)
    return 0 if fails == 0 else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    print("usage: cam_oracle_extra.py --selftest  (otherwise import it)",
          file=sys.stderr)
    sys.exit(2)
