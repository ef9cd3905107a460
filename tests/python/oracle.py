#!/usr/bin/python3
"""PyTorch oracle for gradcam's parity tests.

What it is: the reference the C engine is measured against. It builds
torchvision-compatible ResNets (full width, or reduced width with the same
module names and state_dict keys) with seeded random weights, randomised
BatchNorm and an input-dependent classifier, and computes Grad-CAM the way
the issue defines it: the activation of a layer is the module's own output,
the gradient is d(logit_c)/d(that output).

Why the model is rewritten before hooking: torchvision's BasicBlock and
Bottleneck do `out += identity` and call `ReLU(inplace=True)`, so the tensor
that `bn2`/`bn3` returned is overwritten later in the forward pass. A forward
hook that keeps that tensor sees post-add, post-ReLU values and autograd
differentiates the overwritten version. The oracle therefore deep-copies the
model, turns every ReLU non-in-place and gives the blocks a forward that
writes `out = out + identity`; then a plain forward hook captures the true
activation and torch.autograd.grad gives its true gradient. `cross_check`
proves on a live model that the rewrite changes no logit and that the naive
hook really is wrong at `layer2.1.bn2`.

What it deliberately does not do: no training, no pretrained weights, no
image I/O beyond the seed's cv2 pipeline (`load_image_cv2`), and no
architectures other than torchvision's ResNet family.

Run `/usr/bin/python3 oracle.py --selftest` to check the oracle itself
(finite differences in float64, batch independence, the alias cross-check).
"""
import copy
import sys
import types

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# depth -> (block, blocks per stage), as torchvision defines them.
ARCHS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}
FULL_WIDTHS = (64, 128, 256, 512)


class NarrowResNet(ResNet):
    """torchvision's ResNet with other stage widths; same names, same forward.

    torchvision hard-codes 64-128-256-512. Reusing its _make_layer and
    forward keeps the module tree and state_dict keys identical, so the C
    loader cannot tell a narrow model from a real one except by shapes.
    """

    def __init__(self, block, layers, widths, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # Bottleneck width == planes, as in torchvision
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2,
                               padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)


def build_resnet(depth, widths=FULL_WIDTHS, num_classes=1000, seed=0):
    """Random-weight ResNet in eval mode (BatchNorm still identity here)."""
    block, layers = ARCHS[depth]
    torch.manual_seed(seed)
    if tuple(widths) == FULL_WIDTHS:
        model = getattr(torchvision.models, "resnet%d" % depth)(
            weights=None, num_classes=num_classes)
    else:
        model = NarrowResNet(block, layers, widths, num_classes)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                    nonlinearity="relu")
    return model.eval()


def randomise_bn(model, seed):
    """Give every BatchNorm random affine parameters and running statistics.

    A fresh torchvision model has weight 1, bias 0, mean 0, var 1: BN is
    the identity and a loader that ignored it would still pass.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
    return model.eval()


def pooled_features(model, x):
    """The avgpool output flattened: what fc sees."""
    feats = []
    h = model.avgpool.register_forward_hook(
        lambda mod, inp, out: feats.append(out.detach().flatten(1).clone()))
    with torch.no_grad():
        model(x)
    h.remove()
    return feats[0]


def centre_fc(model, probes, scale=20.0):
    """Make the top-1 class depend on the input.

    The pooled features of a random ResNet barely vary between inputs, so
    every image would get the same class. Scaling fc and subtracting its
    response to the mean feature leaves only the input-dependent part.
    `probes` is a list of input batches (any sizes).
    """
    mean_feature = torch.cat([pooled_features(model, p) for p in probes]).mean(0)
    with torch.no_grad():
        model.fc.weight.mul_(scale)
        model.fc.bias.copy_(-model.fc.weight @ mean_feature)
    return model


def random_inputs(shape, seed):
    """float32 pseudo-images [N,3,H,W], already 'normalised' (about +-2).

    Each image is a smooth random field with its own per-channel offset and
    contrast, plus pixel noise. Plain i.i.d. noise would not do: its pooled
    features are nearly the same for every image (law of large numbers),
    so all images of a batch would get the same top-1 class.
    """
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    out = np.empty(shape, np.float32)
    for i in range(n):
        coarse = torch.from_numpy(rng.standard_normal((1, c, 5, 6)))
        field = torch.nn.functional.interpolate(
            coarse, size=(h, w), mode="bicubic", align_corners=False)[0].numpy()
        offset = rng.uniform(-1.0, 1.0, (c, 1, 1))
        contrast = rng.uniform(0.3, 1.5, (c, 1, 1))
        noise = rng.uniform(0.1, 0.6) * rng.standard_normal((c, h, w))
        out[i] = offset + contrast * field + noise
    return out


def make_model(depth, widths=FULL_WIDTHS, num_classes=1000, seed=0,
               probe_sizes=((224, 224),), probes_per_size=8):
    """The parity test model: random weights, random BN, centred fc."""
    model = build_resnet(depth, widths, num_classes, seed)
    randomise_bn(model, seed + 1)
    probes = [torch.from_numpy(random_inputs((probes_per_size, 3, h, w),
                                             seed + 100 + i))
              for i, (h, w) in enumerate(probe_sizes)]
    return centre_fc(model, probes)


def model_from_state_dict(sd):
    """Rebuild a ResNet from its keys and shapes alone (for stand-ins)."""
    bottleneck = any(k.endswith("conv3.weight") for k in sd)
    block = Bottleneck if bottleneck else BasicBlock
    layers = []
    for s in range(1, 5):
        idx = {int(k.split(".")[1]) for k in sd if k.startswith("layer%d." % s)}
        layers.append(max(idx) + 1)
    # conv1 of a stage's first block has `planes` outputs in both blocks.
    widths = [sd["layer%d.0.conv1.weight" % s].shape[0] for s in range(1, 5)]
    num_classes = sd["fc.weight"].shape[0]
    model = NarrowResNet(block, layers, widths, num_classes)
    model.load_state_dict(sd)
    return model.eval()


# --- the non-aliasing rewrite ----------------------------------------------

def _basic_forward(self, x):
    identity = x
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    if self.downsample is not None:
        identity = self.downsample(x)
    return self.relu(out + identity)


def _bottleneck_forward(self, x):
    identity = x
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    if self.downsample is not None:
        identity = self.downsample(x)
    return self.relu(out + identity)


def without_inplace(model):
    """Deep copy of `model` in which no op overwrites another's output."""
    m = copy.deepcopy(model).eval()
    for mod in m.modules():
        if isinstance(mod, nn.ReLU):
            mod.inplace = False
        elif isinstance(mod, BasicBlock):
            mod.forward = types.MethodType(_basic_forward, mod)
        elif isinstance(mod, Bottleneck):
            mod.forward = types.MethodType(_bottleneck_forward, mod)
        elif getattr(mod, "inplace", False):
            raise ValueError("unexpected in-place module %r" % mod)
    return m


# --- Grad-CAM ---------------------------------------------------------------

def cam_from(act, grad, pre_relu=False):
    """alpha_k = mean_hw dA_k; cam = ReLU(sum_k alpha_k A_k), in float64.
    With pre_relu, the sum before the ReLU (to judge all-zero maps)."""
    a = act.detach().double()
    g = grad.detach().double()
    alpha = g.mean(dim=(2, 3), keepdim=True)
    raw = (alpha * a).sum(dim=1)
    return raw if pre_relu else torch.relu(raw)


def gradcam_multi(model, x, layers, cls=None, robust=None, pre_relu=None):
    """Grad-CAM at several layers from one forward/backward pass.

    x: tensor or array [N,3,H,W]. cls: None (each image's own top-1) or a
    class index used for every image. The score is the sum over images of
    each image's chosen logit; in eval mode images do not interact, so its
    gradient w.r.t. image n's activation is d(logit_n)/dA_n.
    Returns (logits float32 [N,C], {layer: cam float64 [N,h,w]}, classes [N]).
    `robust` may pass a model already made by without_inplace(); a dict
    passed as `pre_relu` receives each layer's map before the ReLU.
    """
    m = robust if robust is not None else without_inplace(model)
    if not torch.is_tensor(x):
        x = torch.from_numpy(np.ascontiguousarray(x))
    x = x.to(next(m.parameters()).dtype)
    mods = dict(m.named_modules())
    acts = {L: [] for L in layers}
    hooks = []
    for L in layers:
        if L not in mods or L == "":
            raise KeyError("unknown layer %r" % L)
        hooks.append(mods[L].register_forward_hook(
            lambda mod, inp, out, L=L: acts[L].append(out)))
    try:
        with torch.enable_grad():
            logits = m(x)
    finally:
        for h in hooks:
            h.remove()
    for L in layers:
        if len(acts[L]) != 1:
            raise ValueError("layer %r runs %d times per forward pass"
                             % (L, len(acts[L])))
        if acts[L][0].dim() != 4:
            raise ValueError("layer %r output is not [N,C,h,w]" % L)
    n, c = logits.shape
    if cls is None:
        classes = logits.detach().argmax(dim=1)
    else:
        if not 0 <= cls < c:
            raise ValueError("class %d out of range" % cls)
        classes = torch.full((n,), cls, dtype=torch.long)
    score = logits.gather(1, classes[:, None]).sum()
    grads = torch.autograd.grad(score, [acts[L][0] for L in layers])
    cams = {L: cam_from(acts[L][0], g) for L, g in zip(layers, grads)}
    if pre_relu is not None:
        pre_relu.update({L: cam_from(acts[L][0], g, True)
                         for L, g in zip(layers, grads)})
    return logits.detach(), cams, classes


def gradcam(model, x, layer_name, cls=None):
    """(logits [N,C], cams [N,h,w], classes [N]) as numpy arrays."""
    logits, cams, classes = gradcam_multi(model, x, [layer_name], cls)
    return logits.numpy(), cams[layer_name].numpy(), classes.numpy()


def report(results, width=48):
    """Prints (passed, label, message) checks, one a line, and a count;
    returns the exit status (1 if any failed)."""
    bad = 0
    for good, label, msg in results:
        print("%s %-*s %s" % ("ok  " if good else "FAIL", width, label, msg))
        bad += not good
    print("%d of %d checks passed" % (len(results) - bad, len(results)))
    return 1 if bad else 0


def rel_err(ours, ref):
    """max|ours-ref| / max|ref|, the parity measure (inf if shapes differ)."""
    ours = np.asarray(ours, np.float64)
    ref = np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return float("inf")
    scale = np.abs(ref).max() if ref.size else 0.0
    diff = np.abs(ours - ref).max() if ref.size else 0.0
    if scale == 0.0:
        return float(diff)
    return float(diff / scale)


def load_image_cv2(path, size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The seed's pipeline: cv2 decode, BGR->RGB, INTER_LINEAR stretch,
    /255, ImageNet normalisation. Returns float32 [1,3,size,size]."""
    import cv2
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise IOError("cannot decode %s" % path)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    x = rgb.astype(np.float32) / np.float32(255.0)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


# --- cross-checks ------------------------------------------------------------

def _naive_cam(model, x, layer, cls):
    """What a naive hook on the unmodified model computes (the pitfall)."""
    m = copy.deepcopy(model).eval()
    saved = []
    h = dict(m.named_modules())[layer].register_forward_hook(
        lambda mod, inp, out: saved.append(out))
    logits = m(torch.from_numpy(x))
    h.remove()
    classes = logits.argmax(1) if cls is None else torch.full(
        (x.shape[0],), cls, dtype=torch.long)
    score = logits.gather(1, classes[:, None]).sum()
    g, = torch.autograd.grad(score, saved[0])
    return cam_from(saved[0], g, pre_relu=True).numpy()


def _clone_hook_cam(model, x, layer, cls):
    """The other correct recipe: clone inside the hook, gradient hook on the
    original tensor. Independent of the rewrite, so it checks it."""
    m = copy.deepcopy(model).eval()
    act, grad = [], []

    def fwd(mod, inp, out):
        act.append(out.detach().clone())
        out.register_hook(lambda g: grad.append(g.detach().clone()))
    h = dict(m.named_modules())[layer].register_forward_hook(fwd)
    xt = torch.from_numpy(x).requires_grad_(True)
    logits = m(xt)
    h.remove()
    classes = logits.argmax(1) if cls is None else torch.full(
        (x.shape[0],), cls, dtype=torch.long)
    torch.autograd.grad(logits.gather(1, classes[:, None]).sum(), xt)
    return cam_from(act[0], grad[0], pre_relu=True).numpy()


def cross_check(model, x, layer="layer2.1.bn2", cls=None):
    """Assert the rewrite is sound on this model and input.

    1. the rewritten model's logits equal the original's exactly;
    2. the clone-in-hook recipe on the original model gives the same map;
    3. the naive hook on the original model gives a clearly different map
       (if it did not, the fixture would not test the aliasing at all).
    Maps are compared before the ReLU, which is never all zero.
    Returns (naive relative error, clone-hook relative error).
    """
    x = np.ascontiguousarray(x, np.float32)
    with torch.no_grad():
        ref_logits = model(torch.from_numpy(x))
        new_logits = without_inplace(model)(torch.from_numpy(x))
    assert torch.equal(ref_logits, new_logits), \
        "rewritten model changes the logits"
    raw = {}
    gradcam_multi(model, x, [layer], cls, pre_relu=raw)
    cam = raw[layer].numpy()  # before the ReLU: never all zero
    clone = rel_err(_clone_hook_cam(model, x, layer, cls), cam)
    assert clone < 1e-6, "clone-hook CAM differs from oracle: %g" % clone
    naive = rel_err(_naive_cam(model, x, layer, cls), cam)
    assert naive > 0.05, \
        "naive hook agrees with the oracle at %s (%g): alias not exercised" \
        % (layer, naive)
    return naive, clone


# --- self-test ---------------------------------------------------------------

def _finite_difference_check(model64, x64, layer, cls, n_dirs=4, eps=1e-6):
    """Directional derivatives of the logit w.r.t. the layer's output, by
    central differences on a float64 model, against autograd's gradient."""
    m = without_inplace(model64)
    mods = dict(m.named_modules())
    act = []
    h = mods[layer].register_forward_hook(lambda mod, inp, out: act.append(out))
    logits = m(x64)
    h.remove()
    score = logits[:, cls].sum()
    g, = torch.autograd.grad(score, act[0])
    base = act[0].detach()
    rng = torch.Generator().manual_seed(7)
    worst = 0.0
    for _ in range(n_dirs):
        v = torch.randn(base.shape, generator=rng, dtype=torch.float64)
        vals = []
        for s in (+1, -1):
            h = mods[layer].register_forward_hook(
                lambda mod, inp, out, s=s: out + s * eps * v)
            with torch.no_grad():
                vals.append(m(x64)[:, cls].sum().item())
            h.remove()
        fd = (vals[0] - vals[1]) / (2 * eps)
        ad = (g * v).sum().item()
        worst = max(worst, abs(fd - ad) / max(abs(ad), 1e-12))
    return worst


def selftest():
    torch.set_num_threads(max(1, min(2, torch.get_num_threads() or 1)))
    fails = 0

    def check(ok, what):
        nonlocal fails
        print(("ok   " if ok else "FAIL ") + what)
        fails += 0 if ok else 1

    for depth in (18, 50):
        model = make_model(depth, (4, 8, 8, 8), 10, seed=depth,
                           probe_sizes=((64, 80),))
        x = random_inputs((3, 3, 64, 80), 5)
        # Finite differences: gradient of the logit w.r.t. true activations.
        m64 = copy.deepcopy(model).double()
        x64 = torch.from_numpy(x).double()
        for layer in ("conv1", "maxpool", "layer2.1.bn2", "layer3.0.downsample.0",
                      "layer4", "layer4.1.conv2"):
            worst = _finite_difference_check(m64, x64, layer, cls=3)
            check(worst < 1e-5, "resnet%d %s: finite differences vs autograd "
                  "%.2e" % (depth, layer, worst))
        # Batch independence: a batch gives each image its own class's map.
        logits, cams, classes = gradcam_multi(model, x, ["layer3", "layer2.1.bn2"])
        for i in range(3):
            li, ci, ki = gradcam_multi(model, x[i:i + 1], ["layer3", "layer2.1.bn2"])
            e = max(rel_err(ci[L][0], cams[L][i]) for L in ci)
            check(e < 1e-5 and ki[0] == classes[i],
                  "resnet%d image %d: batch vs single %.2e" % (depth, i, e))
        # Float64 vs float32: the float32 oracle is well-conditioned.
        _, c32, _ = gradcam_multi(model, x, ["layer2.1.bn2"], cls=3)
        _, c64, _ = gradcam_multi(m64, x64, ["layer2.1.bn2"], cls=3)
        e = rel_err(c32["layer2.1.bn2"], c64["layer2.1.bn2"])
        check(e < 1e-4, "resnet%d float32 vs float64 %.2e" % (depth, e))
        # A module that runs twice is refused.
        try:
            gradcam(model, x, "layer1.0.relu")
            check(False, "resnet%d layer1.0.relu refused" % depth)
        except ValueError:
            check(True, "resnet%d layer1.0.relu refused" % depth)
        # The aliasing pitfall is real and the rewrite avoids it.
        try:
            naive, clone = cross_check(model, x, "layer2.1.bn2")
            check(True, "resnet%d alias cross-check: naive hook off by %.3f, "
                  "clone-hook %.1e" % (depth, naive, clone))
        except AssertionError as e:
            check(False, "resnet%d alias cross-check: %s" % (depth, e))
    # The centred fc makes the top-1 class depend on the input.
    model = make_model(18, (8, 16, 32, 64), 10, seed=3, probe_sizes=((64, 64),))
    with torch.no_grad():
        top = model(torch.from_numpy(random_inputs((16, 3, 64, 64), 9))).argmax(1)
    check(len(set(top.tolist())) >= 3,
          "centred fc: %d distinct top-1 classes over 16 inputs"
          % len(set(top.tolist())))
    print("%s" % ("selftest passed" if fails == 0 else "%d FAILED" % fails))
    return 0 if fails == 0 else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    print("usage: oracle.py --selftest  (otherwise import it)", file=sys.stderr)
    sys.exit(2)
