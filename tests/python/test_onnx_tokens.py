#!/usr/bin/python3
"""Parity with PyTorch on ONNX exports of small token models: the
shape-arithmetic operators exporters emit around a class token and index
vectors (ConstantOfShape, Equal, Where, Expand, Range, Mod, Less, Greater),
a constant concatenated with computed tensors, LayerNormalization (opset
17) and its decomposed form (opset 13), GELU's Erf form.

What it is: at test time it builds a vision-transformer-like network with
random weights (a strided convolution as patch embedding, the patches as
tokens, a class token expanded to the batch, position embeddings, two
blocks of LayerNorm + attention + LayerNorm + GELU MLP, the class token's
final LayerNorm into a linear head) and a variant whose tokens are selected
and masked with arange-based indices; exports each at opset 13 and 17 with
a dynamic batch axis; runs `gradcam explain --input-npy` on a batch of 3 at
the patch embedding (a [C, h, w] layer, so the gradient comes back through
every new operator) for the top-1 class and an explicit class; and compares
the logits (1e-4) and raw Grad-CAM maps (1e-3 of the maximum) with
PyTorch's autograd in float64. The attention there keeps the batch axis
first; torchvision's VisionTransformer (small, random weights), whose
nn.MultiheadAttention exports transposes and reshapes that move the batch
axis and merge it with the heads (src/loaders/onnx_batch.c), is checked
the same way at its patch embedding `conv_proj`, and with the reshape
transform at its last block's `ln_1` for Grad-CAM, HiResCAM and LayerCAM
(and Score-CAM, whose masks are the token map upsampled, at opset 17); so
is a DeiT-style model with a distillation token, at `blocks.1.ln_1`.

Usage: test_onnx_tokens.py --gradcam PATH/TO/gradcam
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle  # noqa: E402
import oracle  # noqa: E402

LOGIT_TOL = 1e-4
CAM_TOL = 1e-3
SIZE, BATCH = 32, 3


class Attention(nn.Module):
    """Multi-head self-attention with the batch axis first throughout."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, c = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, c // self.heads).permute(0, 2, 3, 1, 4)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        a = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        y = a.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(n, t, c))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Tokens(nn.Module):
    """select: keep every token but the class token's neighbour (Range,
    Add) and zero every other patch token (Range, Mod, Equal)."""

    def __init__(self, select=False, dim=24, classes=7, dist=False):
        super().__init__()
        self.select, self.dist = select, dist
        self.dist_token = nn.Parameter(torch.randn(1, 1, dim)) if dist else None
        self.patch = nn.Conv2d(3, dim, 8, 8)
        tokens = (SIZE // 8) ** 2
        self.class_token = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(0.1 * torch.randn(1, tokens + 1 + dist, dim))
        self.blocks = nn.Sequential(Block(dim, 2), Block(dim, 2))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x)
        n = x.shape[0]
        x = x.flatten(2).transpose(1, 2)
        lead = [self.class_token.expand(n, -1, -1)]
        if self.dist:  # DeiT: a distillation token after the class token
            lead.append(self.dist_token.expand(n, -1, -1))
        x = torch.cat(lead + [x], 1) + self.pos
        if self.select:
            t = x.shape[1]
            keep = (torch.arange(t) % 2 == 0) | (torch.arange(t) < 1) | (torch.arange(t) > t - 3)
            x = x * keep[None, :, None].to(x.dtype)
        x = self.blocks(x)
        x = self.ln(x)
        return self.head((x[:, 0] + x[:, 1]) / 2 if self.dist else x[:, 0])


def build(select, seed):
    torch.manual_seed(seed)
    m = Tokens(select).eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.LayerNorm):  # not the identity map
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m


def reference(model, x, cls):
    """(logits, Grad-CAM at the patch embedding), float64."""
    m = model.double()
    acts, grads = {}, {}

    def hook(_mod, _inp, out):
        acts["a"] = out
        out.register_hook(lambda g: grads.__setitem__("g", g))
    h = m.patch.register_forward_hook(hook)
    logits = m(torch.from_numpy(x.astype(np.float64)))
    h.remove()
    classes = logits.argmax(1) if cls is None else torch.full((x.shape[0],), cls)
    logits.gather(1, classes[:, None]).sum().backward()
    cam = oracle.cam_from(acts["a"].detach(), grads["g"].detach()).numpy()
    model.float()
    return logits.detach().numpy(), cam


def explain(gradcam, path, xpath, cls, out, layer="/patch/Conv"):
    argv = [gradcam, "explain", "--model", path, "--input-npy", xpath, "--layer", layer,
            "--out", out]
    if cls is not None:
        argv += ["--class", str(cls)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, None, p.stderr.strip()
    stem = os.path.splitext(os.path.basename(xpath))[0]
    return (np.load(os.path.join(out, stem + ".logits.npy")),
            np.load(os.path.join(out, stem + ".gradcam.cam.npy")), "")


def token_reference(model, x, module, cls, skip):
    """Grad-CAM, HiResCAM and LayerCAM at a token layer [N, skip + h*w, C]
    after pytorch-grad-cam's reshape transform (drop the first `skip`
    tokens, [N, h, w, C] -> [N, C, h, w]), float64."""
    m = model.double()
    acts, grads = {}, {}

    def hook(_mod, _inp, out):
        acts["a"] = out
        out.register_hook(lambda g: grads.__setitem__("g", g))
    h = module.register_forward_hook(hook)
    logits = m(torch.from_numpy(x.astype(np.float64)))
    h.remove()
    classes = logits.argmax(1) if cls is None else torch.full((x.shape[0],), cls)
    logits.gather(1, classes[:, None]).sum().backward()

    def spatial(t):
        t = t.detach()[:, skip:]
        side = int(round(t.shape[1] ** 0.5))
        return t.reshape(t.shape[0], side, side, t.shape[2]).permute(0, 3, 1, 2)
    A, G = spatial(acts["a"]), spatial(grads["g"])
    model.float()
    return {"gradcam": cam_oracle.gradcam(A, G).numpy(),
            "hirescam": cam_oracle.hirescam(A, G).numpy(),
            "layercam": cam_oracle.layercam(A, G).numpy()}


def scorecam_reference(model, x, module, cls, skip):
    """Score-CAM at a token layer [N, skip + h*w, C] after the reshape
    transform, float64: each channel of the map, upsampled and min-max
    normalised, masks the input (cam_oracle.scorecam)."""
    m = model.double()
    acts = {}
    h = module.register_forward_hook(lambda _m, _i, out: acts.__setitem__("a", out.detach()))
    with torch.no_grad():
        logits = m(torch.from_numpy(x.astype(np.float64)))
    h.remove()
    classes = logits.argmax(1) if cls is None else torch.full((x.shape[0],), cls)
    t = acts["a"][:, skip:]
    side = int(round(t.shape[1] ** 0.5))
    A = t.reshape(t.shape[0], side, side, t.shape[2]).permute(0, 3, 1, 2)
    cam = cam_oracle.scorecam(m, x.astype(np.float64), A, classes)[0].numpy()
    model.float()
    return cam


def explain_methods(gradcam, path, xpath, layer, cls, out, extra=()):
    """{method: map} from one `gradcam explain` run, or (None, why)."""
    argv = [gradcam, "explain", "--model", path, "--input-npy", xpath, "--layer", layer,
            "--method", "gradcam,hirescam,layercam", "--out", out] + list(extra)
    if cls is not None:
        argv += ["--class", str(cls)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return {k: np.load(os.path.join(out, "x.%s.cam.npy" % k))
            for k in ("gradcam", "hirescam", "layercam")}, ""


def compare(name, cls, logits, cam, why, ref_logits, ref_cam):
    """(passed, label, message) for one model and class."""
    label = "%s class %s" % (name, "top1" if cls is None else cls)
    if logits is None:
        return False, label, why
    el, ec = oracle.rel_err(logits, ref_logits), oracle.rel_err(cam, ref_cam)
    live = bool(np.any(ref_cam))
    return (el <= LOGIT_TOL and ec <= CAM_TOL and live, label,
            "logits %.2e, cam %.2e%s" % (el, ec, "" if live else " (all zero)"))


def export(model, path, opset):
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    results = []
    with tempfile.TemporaryDirectory(prefix="gc_tokens_") as tmp:
        x = oracle.random_inputs((BATCH, 3, SIZE, SIZE), 11)
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, x)
        for select in (False, True):
            model = build(select, 5 + select)
            for opset in (13, 17):
                name = "tokens%s-opset%d" % ("-select" if select else "", opset)
                path = os.path.join(tmp, name + ".onnx")
                export(model, path, opset)
                for cls in (None, 3):
                    ref_logits, ref_cam = reference(model, x, cls)
                    logits, cam, why = explain(a.gradcam, path, xpath, cls,
                                               os.path.join(tmp, "%s-%s" % (name, cls)))
                    results.append(compare(name, cls, logits, cam, why, ref_logits, ref_cam))
        # torchvision's vision transformer: nn.MultiheadAttention moves the batch
        from torchvision.models.vision_transformer import VisionTransformer
        torch.manual_seed(9)
        vit = VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2, num_heads=2,
                                hidden_dim=16, mlp_dim=32, num_classes=7).eval()
        with torch.no_grad():
            for mod in vit.modules():
                if isinstance(mod, nn.LayerNorm):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
            vit.class_token.normal_()
            vit.heads.head.weight.normal_(0, 0.2)  # torchvision zeroes it
        vit.patch = vit.conv_proj  # the layer reference() hooks
        for opset in (13, 17):
            name = "vit-opset%d" % opset
            path = os.path.join(tmp, name + ".onnx")
            export(vit, path, opset)
            for cls in (None, 3):
                ref_logits, ref_cam = reference(vit, x, cls)
                logits, cam, why = explain(a.gradcam, path, xpath, cls,
                                           os.path.join(tmp, "%s-%s" % (name, cls)),
                                           layer="conv_proj")
                results.append(compare(name, cls, logits, cam, why, ref_logits, ref_cam))
            # token layers: the last block's first LayerNorm, with its class
            # token (auto-detected, and said with --tokens cls)
            layer = "encoder.layers.encoder_layer_1.ln_1"
            module = vit.encoder.layers.encoder_layer_1.ln_1
            for cls, extra in ((None, ()), (3, ("--tokens", "cls"))):
                ref = token_reference(vit, x, module, cls, 1)
                maps, why = explain_methods(a.gradcam, path, xpath, layer, cls,
                                            os.path.join(tmp, "%s-tok-%s" % (name, cls)), extra)
                for k in ("gradcam", "hirescam", "layercam"):
                    label = "%s %s ln_1 class %s" % (name, k, "top1" if cls is None else cls)
                    if maps is None:
                        results.append((False, label, why))
                        continue
                    e = oracle.rel_err(maps[k], ref[k])
                    results.append((e <= CAM_TOL and bool(np.any(ref[k])), label,
                                    "cam %.2e (map %s)" % (e, "x".join(map(str, maps[k].shape)))))
            # Score-CAM masks the input with the token map: no way back needed
            if opset == 17:
                ref = scorecam_reference(vit, x, module, 3, 1)
                out = os.path.join(tmp, "%s-scorecam" % name)
                p = subprocess.run([a.gradcam, "explain", "--model", path, "--input-npy", xpath,
                                    "--layer", layer, "--method", "scorecam", "--class", "3",
                                    "--out", out], capture_output=True, text=True, timeout=300)
                label = "%s scorecam ln_1 class 3" % name
                if p.returncode != 0:
                    results.append((False, label, p.stderr.strip()))
                else:
                    e = oracle.rel_err(np.load(os.path.join(out, "x.scorecam.cam.npy")), ref)
                    results.append((e <= CAM_TOL and bool(np.any(ref)), label, "cam %.2e" % e))
        # DeiT-style: a class and a distillation token before the patches
        torch.manual_seed(8)
        deit = Tokens(dist=True).eval()
        with torch.no_grad():
            for mod in deit.modules():
                if isinstance(mod, nn.LayerNorm):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
        dpath = os.path.join(tmp, "deit.onnx")
        export(deit, dpath, 17)
        for cls, extra in ((None, ()), (3, ("--tokens", "cls2"))):
            ref = token_reference(deit, x, deit.blocks[1].ln_1, cls, 2)
            maps, why = explain_methods(a.gradcam, dpath, xpath, "blocks.1.ln_1", cls,
                                        os.path.join(tmp, "deit-%s" % cls), extra)
            for k in ("gradcam", "hirescam", "layercam"):
                label = "deit %s blocks.1.ln_1 class %s" % (k, "top1" if cls is None else cls)
                if maps is None:
                    results.append((False, label, why))
                    continue
                e = oracle.rel_err(maps[k], ref[k])
                results.append((e <= CAM_TOL and bool(np.any(ref[k])), label, "cam %.2e" % e))
        # the default layer is the last block's first LayerNorm, listed as a map
        p = subprocess.run([a.gradcam, "layers", "--model", path], capture_output=True,
                           text=True, timeout=60)
        line = [l for l in p.stdout.splitlines() if l.startswith(layer + " ")]
        results.append((len(line) == 1 and "*" in line[0] and "16 x 4 x 4 (tokens)" in line[0],
                        "default layer %s" % layer, line[0] if line else p.stderr.strip()))
        # refusals: a grid the tokens do not form, a method that needs the way back
        for extra, want in ((("--tokens", "plain"), "they do not form a grid"),
                            (("--method", "ablationcam"), "token layers")):
            argv = [a.gradcam, "explain", "--model", path, "--input-npy", xpath, "--layer",
                    layer, "--out", os.path.join(tmp, "refused")] + list(extra)
            p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            results.append((p.returncode != 0 and want in p.stderr, "refused: %s" % " ".join(extra),
                            p.stderr.strip()[-120:]))
    return oracle.report(results, 40)


if __name__ == "__main__":
    sys.exit(main())
