#!/usr/bin/python3
"""PyTorch reference for the CAM family (issue 5): one function per method,
written from the method's DEFINITION, not from any library's code.

What it is: the independent implementation that `test_methods.py` measures
the C tool against. A is the layer module's own output [N,K,h,w] and
G = d(y_c)/dA with y_c the class logit (pre-softmax), both captured in
float32 on oracle.py's non-aliasing copy of the model; every map below is
computed in float64 from those float32 tensors and is finally ReLU'd.

  gradcam             w_k = mean_hw G_k;                  ReLU(sum_k w_k A_k)
  hirescam            ReLU(sum_k A_k * G_k)
  gradcamelementwise  ReLU(sum_k ReLU(A_k * G_k))
  xgradcam            w_k = sum(G_k A_k) / (sum(A_k) + 1e-7)
  gradcam++           alpha = G^2 / (2 G^2 + sum_hw(A_k) G^3 + 1e-6), 0 where
                      G == 0; w_k = sum_hw(alpha * ReLU(G))
  layercam            ReLU(sum_k ReLU(G_k) * A_k)
  eigencam            projection of A (positions x channels, column-centred)
                      on its first right singular vector (numpy's LAPACK
                      gesdd in float32, as the reference library does)
  eigengradcam        the same on A * G
  scorecam            s_k = softmax(f(X * norm(up(A_k))))[c], the Score-CAM
                      authors' version: bilinear upsample (align_corners=False),
                      min-max normalise, constant channel -> weight 0
  ablationcam         w_k = (y - y_k) / y, y_k = logit with channel k of A
                      set to zero and the rest of the network re-run
  guided backprop     d y_c / d X with every ReLU's backward replaced by
                      grad_in = ReLU(grad_out) * (x > 0)
  guided grad-cam     guided backprop * (Grad-CAM map upsampled bilinearly,
                      align_corners=False, to the input size, not normalised)
  counterfactual      G replaced by -G (the gradient of -y_c)

Eigen-CAM's SIGN: a singular vector is defined only up to sign, and LAPACK's
choice is an accident of the algorithm. The project fixes it: v is flipped
so that the projection's element of largest absolute value (the first such
element in row-major order on a tie) is positive.

What it deliberately does not do: normalise or resize maps (the raw map at
the layer's resolution is what the CLI writes as X.<method>.cam.npy), the
random baseline (nothing to compare), FullGrad/FEM/CAM, smoothing, or
several layers at once. Model building and activation capture come from
oracle.py, which this module imports rather than copies.

Run `/usr/bin/python3 cam_oracle.py --selftest` to check the reference by
itself: loop-by-loop re-implementations, gradcam++ on a toy tensor worked
by hand, Ablation-CAM's y_k by a direct zeroing hook, Score-CAM's weight by
cv2's resize and numpy, guided backprop by module backward hooks, Eigen-CAM
against a float64 eigen-decomposition, and every method on a float64 copy of
the model (how well-conditioned the float32 reference is).
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

GRAD_METHODS = ("gradcam", "hirescam", "gradcamelementwise", "xgradcam",
                "gradcam++", "layercam", "eigengradcam")
MAP_METHODS = GRAD_METHODS + ("eigencam", "scorecam", "ablationcam")
XGRAD_EPS = 1e-7
PLUSPLUS_EPS = 1e-6


def _tensor(x, like):
    if not torch.is_tensor(x):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.to(next(like.parameters()).dtype)


def _module(m, layer):
    mods = dict(m.named_modules())
    if layer not in mods or layer == "":
        raise KeyError("unknown layer %r" % layer)
    return mods[layer]


def capture(model, x, layer, cls=None, counterfactual=False, robust=None):
    """Forward + backward once. Returns a dict with
    A, G (float32 or the model's dtype, [N,K,h,w]), logits [N,C], classes [N].
    cls: None (each image's top-1) or one class index for every image."""
    m = robust if robust is not None else oracle.without_inplace(model)
    x = _tensor(x, m)
    acts = []
    h = _module(m, layer).register_forward_hook(
        lambda mod, inp, out: acts.append(out))
    try:
        with torch.enable_grad():
            logits = m(x)
    finally:
        h.remove()
    if len(acts) != 1 or acts[0].dim() != 4:
        raise ValueError("layer %r must run once and give [N,C,h,w]" % layer)
    classes = _classes(logits, cls)
    score = logits.gather(1, classes[:, None]).sum()
    if counterfactual:
        score = -score
    g, = torch.autograd.grad(score, acts[0])
    return {"A": acts[0].detach(), "G": g.detach(), "logits": logits.detach(),
            "classes": classes}


def _classes(logits, cls):
    n, c = logits.shape
    if cls is None:
        return logits.detach().argmax(dim=1)
    if not 0 <= cls < c:
        raise ValueError("class %d out of range" % cls)
    return torch.full((n,), cls, dtype=torch.long)


def make_model(depth, widths, num_classes, seed, size, logit_std=3.0):
    """oracle.make_model, then the classifier rescaled so that the logits'
    spread over random inputs of `size` (H, W) is about `logit_std`.
    oracle's centred fc gives logits in the tens to hundreds on a narrow
    net; the softmax then saturates and every Score-CAM weight is 0 or 1,
    which would test nothing. Scaling fc.weight and fc.bias together keeps
    the input-dependent top-1 class."""
    model = oracle.make_model(depth, widths, num_classes, seed,
                              probe_sizes=(tuple(size),))
    probe = torch.from_numpy(oracle.random_inputs((8, 3) + tuple(size),
                                                  seed + 200))
    with torch.no_grad():
        z = model(probe)
        s = logit_std / z.std().item()
        model.fc.weight.mul_(s)
        model.fc.bias.mul_(s)
    return model


# --- the gradient methods: pure functions of A and G -------------------------

def _d(t):
    return t.detach().double()


def weighted(A, w):
    """ReLU(sum_k w_k A_k) with w [N,K]."""
    return torch.relu((w[:, :, None, None] * _d(A)).sum(1))


def gradcam(A, G):
    return weighted(A, _d(G).mean(dim=(2, 3)))


def hirescam(A, G):
    return torch.relu((_d(A) * _d(G)).sum(1))


def gradcamelementwise(A, G):
    return torch.relu(torch.relu(_d(A) * _d(G)).sum(1))


def xgradcam(A, G):
    a, g = _d(A), _d(G)
    w = (g * a).sum(dim=(2, 3)) / (a.sum(dim=(2, 3)) + XGRAD_EPS)
    return weighted(A, w)


def gradcam_pp(A, G):
    a, g = _d(A), _d(G)
    g2, g3 = g * g, g * g * g
    s = a.sum(dim=(2, 3), keepdim=True)
    alpha = g2 / (2 * g2 + s * g3 + PLUSPLUS_EPS)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    w = (alpha * torch.relu(g)).sum(dim=(2, 3))
    return weighted(A, w)


def layercam(A, G):
    return torch.relu((torch.relu(_d(G)) * _d(A)).sum(1))


def first_component(M32):
    """Projection of the centred matrix M [hw,K] on its first right singular
    vector, sign fixed so that the largest-|.| element is positive.
    M32 is float32 (LAPACK sgesdd, as numpy.linalg.svd does for float32);
    the projection is taken in float64."""
    M = M32.astype(np.float64)
    M = M - M.mean(axis=0)
    if not np.any(M):
        return np.zeros(M.shape[0])
    _, _, vt = np.linalg.svd(M.astype(np.float32), full_matrices=False)
    p = M @ vt[0].astype(np.float64)
    if p[np.argmax(np.abs(p))] < 0:
        p = -p
    return p


def eigen_projection(T):
    """Per image: T [K,h,w] -> ReLU(first principal projection) [h,w]."""
    T = T.detach().cpu().float().numpy()
    n, k, h, w = T.shape
    out = np.empty((n, h, w))
    for i in range(n):
        out[i] = first_component(T[i].reshape(k, h * w).T).reshape(h, w)
    return torch.relu(torch.from_numpy(out))


def eigencam(A, G=None):
    return eigen_projection(A)


def eigengradcam(A, G):
    return eigen_projection(A.float() * G.float())


GRAD_FUNCS = {"gradcam": gradcam, "hirescam": hirescam,
              "gradcamelementwise": gradcamelementwise, "xgradcam": xgradcam,
              "gradcam++": gradcam_pp, "layercam": layercam,
              "eigencam": eigencam, "eigengradcam": eigengradcam}


# --- methods that re-run the network -----------------------------------------

def upsample(t, size):
    """Bilinear, align_corners=False, [N,C,h,w] -> [N,C,H,W]."""
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)


def masked_probs(model, x, A, batch=64):
    """Softmax of f(X * H_k) for every image and channel, all classes:
    [N,K,C] in float64 from the model's dtype; rows of constant upsampled
    channels are 0 (their Score-CAM weight). Independent of the class, so
    one call serves every target."""
    x = _tensor(x, model)
    n, k = A.shape[:2]
    H, W = x.shape[2:]
    probs = None
    with torch.no_grad():
        for i in range(n):
            up = upsample(A[i:i + 1].to(x.dtype), (H, W))[0]   # [K,H,W]
            lo = up.amin(dim=(1, 2))
            hi = up.amax(dim=(1, 2))
            live = (hi != lo).nonzero().flatten()
            for j in range(0, len(live), batch):
                idx = live[j:j + batch]
                masks = (up[idx] - lo[idx, None, None]) / \
                    (hi[idx] - lo[idx])[:, None, None]
                p = torch.softmax(model(x[i:i + 1] * masks[:, None]), dim=1)
                if probs is None:
                    probs = torch.zeros(n, k, p.shape[1], dtype=torch.float64)
                probs[i, idx] = p.double()
    if probs is None:  # every channel constant: every weight is 0
        with torch.no_grad():
            c = model(x[:1]).shape[1]
        probs = torch.zeros(n, k, c, dtype=torch.float64)
    return probs


def scorecam(model, x, A, classes, probs=None):
    """ReLU(sum_k s_k A_k) with s_k = softmax(f(X * H_k))[c]; also returns s."""
    if probs is None:
        probs = masked_probs(model, x, A)
    w = probs[torch.arange(len(classes)), :, classes]
    return weighted(A, w), w


def ablated_logits(model, x, layer, A, batch=32):
    """Logits [N,K,C] (float64 from the model's dtype) with the layer's
    output replaced by A with channel k zeroed; everything after the layer
    re-runs (the prefix re-runs too, and is discarded by the hook)."""
    m = oracle.without_inplace(model)
    x = _tensor(x, m)
    n, k = A.shape[:2]
    yk = None
    replace = {}
    hook = _module(m, layer).register_forward_hook(
        lambda mod, inp, out: replace["t"])
    try:
        with torch.no_grad():
            for i in range(n):
                for j in range(0, k, batch):
                    ks = torch.arange(j, min(k, j + batch))
                    t = A[i:i + 1].to(x.dtype).repeat(len(ks), 1, 1, 1)
                    t[torch.arange(len(ks)), ks] = 0
                    replace["t"] = t
                    out = m(x[i:i + 1].expand(len(ks), -1, -1, -1))
                    if yk is None:
                        yk = torch.empty(n, k, out.shape[1], dtype=torch.float64)
                    yk[i, ks] = out.double()
    finally:
        hook.remove()
    return yk


def ablationcam(model, x, layer, A, logits, classes, yk=None):
    """ReLU(sum_k w_k A_k), w_k = (y - y_k) / y; also returns w."""
    if yk is None:
        yk = ablated_logits(model, x, layer, A)
    y = logits.gather(1, classes[:, None]).double()          # [N,1]
    w = (y - yk[torch.arange(len(classes)), :, classes]) / y
    return weighted(A, w), w


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g.clamp(min=0) * (x > 0).to(g.dtype)


class GuidedReLU(nn.Module):
    def forward(self, x):
        return _GuidedReLU.apply(x)


def guided_model(model):
    """Non-aliasing copy whose every nn.ReLU is a GuidedReLU."""
    m = oracle.without_inplace(model)
    for parent in list(m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(parent, name, GuidedReLU())
    return m


def guided_backprop(model, x, classes):
    """[N,3,H,W] in the model's dtype."""
    m = guided_model(model)
    x = _tensor(x, m).clone().requires_grad_(True)
    with torch.enable_grad():
        logits = m(x)
        g, = torch.autograd.grad(logits.gather(1, classes[:, None]).sum(), x)
    return g.detach()


def guided_gradcam(gb, cam):
    """gb [N,3,H,W] x cam [N,h,w] upsampled to H,W (float64, no normalising)."""
    up = upsample(cam.double()[:, None], tuple(gb.shape[2:]))
    return gb.double() * up


# --- everything at once ------------------------------------------------------

def all_methods(model, x, layer, cls=None, counterfactual=False,
                methods=MAP_METHODS, guided=True, cache=None):
    """{name: float64 tensor} for the map methods ([N,h,w]) and, with guided,
    'guidedbackprop' / 'guidedgradcam' ([N,3,H,W]); plus 'logits' and
    'classes'. With counterfactual, only the gradient methods are computed
    (and no guided ones). `cache`, a dict kept by the caller for one model,
    input and layer, saves Score-CAM's and Ablation-CAM's forward passes
    (they do not depend on the class) between calls."""
    cache = {} if cache is None else cache
    cap = capture(model, x, layer, cls, counterfactual)
    A, G, logits, classes = cap["A"], cap["G"], cap["logits"], cap["classes"]
    out = {"logits": logits, "classes": classes}
    for name in methods:
        if name in GRAD_FUNCS:
            out[name] = GRAD_FUNCS[name](A, G)
        elif counterfactual:
            continue
        elif name == "scorecam":
            if "probs" not in cache:
                cache["probs"] = masked_probs(model, x, A)
            out[name], _ = scorecam(model, x, A, classes, cache["probs"])
        elif name == "ablationcam":
            if "yk" not in cache:
                cache["yk"] = ablated_logits(model, x, layer, A)
            out[name], _ = ablationcam(model, x, layer, A, logits, classes,
                                       cache["yk"])
        else:
            raise KeyError(name)
    if guided and not counterfactual:
        gb = guided_backprop(model, x, classes)
        out["guidedbackprop"] = gb.double()
        cam = out["gradcam"] if "gradcam" in out else gradcam(A, G)
        out["guidedgradcam"] = guided_gradcam(gb, cam)
    return out


# --- self-test ---------------------------------------------------------------

def _loop_methods(A, G):
    """Plain-Python re-implementation of the six weighted/elementwise methods
    (float64 scalars, no tensor ops) to check the vectorised ones."""
    A = A.double().numpy()
    G = G.double().numpy()
    n, k, h, w = A.shape
    res = {name: np.zeros((n, h, w)) for name in
           ("gradcam", "hirescam", "gradcamelementwise", "xgradcam",
            "gradcam++", "layercam")}
    for i in range(n):
        for c in range(k):
            a, g = A[i, c], G[i, c]
            s = float(a.sum())
            wg = float(g.sum()) / (h * w)
            wx = float((a * g).sum()) / (s + XGRAD_EPS)
            wp = 0.0
            for y in range(h):
                for x in range(w):
                    gv = g[y, x]
                    if gv != 0:
                        al = gv * gv / (2 * gv * gv + s * gv ** 3 + PLUSPLUS_EPS)
                        wp += al * max(gv, 0.0)
            for y in range(h):
                for x in range(w):
                    av, gv = a[y, x], g[y, x]
                    res["gradcam"][i, y, x] += wg * av
                    res["hirescam"][i, y, x] += av * gv
                    res["gradcamelementwise"][i, y, x] += max(av * gv, 0.0)
                    res["xgradcam"][i, y, x] += wx * av
                    res["gradcam++"][i, y, x] += wp * av
                    res["layercam"][i, y, x] += max(gv, 0.0) * av
    return {kk: np.maximum(v, 0.0) for kk, v in res.items()}


def _toy_plusplus():
    """gradcam++ on a 1x2x1x2 tensor, worked by hand.
    Channel 0: A = [1, 3], G = [1, 0]: sum A = 4; at x=0 alpha = 1/(2+4+1e-6),
      ReLU(G) = 1; at x=1 G == 0 so alpha = 0. w0 = 1/6.000001.
    Channel 1: A = [2, 2], G = [-1, 2]: sum A = 4; x=0 has ReLU(G) = 0;
      x=1: alpha = 4/(8 + 4*8 + 1e-6) = 4/40.000001, times ReLU(G) = 2:
      w1 = 8/40.000001.
    cam = ReLU(w0 * [1, 3] + w1 * [2, 2])."""
    A = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]]])
    G = torch.tensor([[[[1.0, 0.0]], [[-1.0, 2.0]]]])
    w0, w1 = 1 / 6.000001, 8 / 40.000001
    want = np.array([[[w0 * 1 + w1 * 2, w0 * 3 + w1 * 2]]])
    return oracle.rel_err(gradcam_pp(A, G).numpy(), want)


def _hooked_ablation(model, x, layer, k, classes):
    """y_k by the obvious route: a second forward whose hook zeroes channel k
    of the layer's own output (on the non-aliasing copy)."""
    m = oracle.without_inplace(model)

    def zero(mod, inp, out):
        out = out.clone()
        out[:, k] = 0
        return out
    h = _module(m, layer).register_forward_hook(zero)
    with torch.no_grad():
        y = m(_tensor(x, m))
    h.remove()
    return y.gather(1, classes[:, None])[:, 0].double()


def _cv2_score(model, x, A, i, k, c):
    """Score-CAM weight of one channel via cv2.resize (INTER_LINEAR on float
    is half-pixel bilinear like align_corners=False when upscaling) and a
    numpy softmax."""
    import cv2
    H, W = x.shape[2:]
    a = A[i, k].float().numpy()
    up = cv2.resize(a, (W, H), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    if up.max() == up.min():
        return 0.0
    mask = (up - up.min()) / (up.max() - up.min())
    xi = torch.from_numpy((x[i] * mask[None]).astype(np.float32))[None]
    with torch.no_grad():
        z = model(xi)[0].double().numpy()
    p = np.exp(z - z.max())
    return float(p[c] / p.sum())


def _hook_guided(model, x, classes):
    """Guided backprop by full backward hooks on the ReLU modules: for a ReLU,
    grad_in = grad_out * (x > 0), so clamping grad_in at 0 gives the same
    rule as GuidedReLU without a custom autograd function."""
    m = oracle.without_inplace(model)
    hooks = [mod.register_full_backward_hook(
        lambda mod, gin, gout: (gin[0].clamp(min=0),))
        for mod in m.modules() if isinstance(mod, nn.ReLU)]
    xt = _tensor(x, m).clone().requires_grad_(True)
    logits = m(xt)
    g, = torch.autograd.grad(logits.gather(1, classes[:, None]).sum(), xt)
    for h in hooks:
        h.remove()
    return g.detach()


def _eigh_projection(T):
    """First principal projection by float64 eigh of M^T M (no SVD), of a
    tensor or array [N, K, h, w]."""
    T = T.double().numpy() if torch.is_tensor(T) else np.asarray(T, np.float64)
    n, k, h, w = T.shape
    out = np.empty((n, h, w))
    for i in range(n):
        M = T[i].reshape(k, h * w).T
        M = M - M.mean(axis=0)
        _, vec = np.linalg.eigh(M.T @ M)
        p = M @ vec[:, -1]
        if p[np.argmax(np.abs(p))] < 0:
            p = -p
        out[i] = np.maximum(p, 0).reshape(h, w)
    return out


def selftest():
    torch.set_num_threads(max(1, min(2, torch.get_num_threads() or 1)))
    fails = 0

    def check(ok, what):
        nonlocal fails
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        fails += 0 if ok else 1

    e = _toy_plusplus()
    check(e < 1e-12, "gradcam++ on the hand-worked toy tensor %.1e" % e)
    # A channel with sum(A) making 2g^2 + s g^3 + 1e-6 vanish is not special-
    # cased; G == 0 with s = 0 would be 0/1e-6 = 0 anyway.
    for depth, widths, layer in ((18, (8, 16, 16, 32), "layer3.0.bn2"),
                                 (50, (4, 8, 8, 16), "layer2")):
        model = make_model(depth, widths, 10, depth, (48, 64))
        x = oracle.random_inputs((2, 3, 48, 64), 3)
        tag = "resnet%d %s" % (depth, layer)
        cap = capture(model, x, layer, None)
        A, G, classes = cap["A"], cap["G"], cap["classes"]
        # Grad-CAM agrees with oracle.py's own (independent capture code).
        _, ref, _ = oracle.gradcam(model, x, layer)
        e = oracle.rel_err(gradcam(A, G).numpy(), ref)
        check(e < 1e-12, "%s gradcam vs oracle.py %.1e" % (tag, e))
        loops = _loop_methods(A, G)
        for name, want in loops.items():
            e = oracle.rel_err(GRAD_FUNCS[name](A, G).numpy(), want)
            check(e < 1e-10, "%s %s vs loop version %.1e" % (tag, name, e))
        # Counterfactual = the gradient of -y_c.
        cf = capture(model, x, layer, None, counterfactual=True)
        check(torch.equal(cf["G"], -G), "%s counterfactual G == -G" % tag)
        # Eigen-CAM: float32 SVD vs float64 eigh, and the sign convention.
        for name, T in (("eigencam", A), ("eigengradcam", A * G)):
            ours = GRAD_FUNCS[name](A, G).numpy()
            e = oracle.rel_err(ours, _eigh_projection(T))
            check(e < 1e-4, "%s %s vs float64 eigh %.1e" % (tag, name, e))
            flip = eigen_projection(-T).numpy()
            check(oracle.rel_err(flip, ours) < 1e-6,
                  "%s %s sign fixed: same map for -T" % (tag, name))
        # Ablation-CAM: batched replacement vs a zeroing hook, some channels.
        yk = ablated_logits(model, x, layer, A)
        yk = yk[torch.arange(2), :, classes]
        worst = max(np.abs(yk[:, k].numpy() -
                           _hooked_ablation(model, x, layer, k, classes).numpy()
                           ).max() / np.abs(cap["logits"].numpy()).max()
                    for k in (0, 1, A.shape[1] // 2, A.shape[1] - 1))
        check(worst < 1e-5, "%s ablation y_k vs zeroing hook %.1e" % (tag, worst))
        # Score-CAM: weights vs cv2 + numpy for a few channels.
        _, w = scorecam(model, x, A, classes)
        flat = A.flatten(2)
        live = [(i, k) for i in range(2) for k in range(A.shape[1])
                if flat[i, k].max() > flat[i, k].min()]
        dead = [(i, k) for i in range(2) for k in range(A.shape[1])
                if flat[i, k].max() == flat[i, k].min()]
        picks = live[::max(1, len(live) // 4)] + dead[:2]
        worst = max(abs(w[i, k].item() -
                        _cv2_score(model, x, A, i, k, classes[i].item()))
                    for i, k in picks)
        check(worst < 1e-5 and len(live) >= 4,
              "%s scorecam weights vs cv2/numpy %.1e (%d channels, %d constant)"
              % (tag, worst, len(picks), min(2, len(dead))))
        # Guided backprop: custom ReLU vs backward hooks.
        gb = guided_backprop(model, x, classes)
        e = oracle.rel_err(gb.numpy(), _hook_guided(model, x, classes).numpy())
        check(e < 1e-6, "%s guided backprop vs ReLU backward hooks %.1e" % (tag, e))
        check(oracle.rel_err(gb.numpy(), _plain_input_grad(model, x, classes)) > 0.05,
              "%s guided backprop differs from the plain input gradient" % tag)
        # Conditioning: every method on a float64 copy of the model.
        ref = all_methods(model, x, layer)
        ref64 = all_methods(copy.deepcopy(model).double(),
                            torch.from_numpy(x).double(), layer)
        for name in MAP_METHODS + ("guidedbackprop", "guidedgradcam"):
            e = oracle.rel_err(ref[name].numpy(), ref64[name].numpy())
            check(e < 2e-4, "%s %s float32 vs float64 model %.1e" % (tag, name, e))
    print("selftest passed" if fails == 0 else "%d FAILED" % fails)
    return 0 if fails == 0 else 1


def _plain_input_grad(model, x, classes):
    m = oracle.without_inplace(model)
    xt = torch.from_numpy(x).requires_grad_(True)
    logits = m(xt)
    g, = torch.autograd.grad(logits.gather(1, classes[:, None]).sum(), xt)
    return g.numpy()


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    print("usage: cam_oracle.py --selftest  (otherwise import it)", file=sys.stderr)
    sys.exit(2)
