#!/usr/bin/python3
"""Parity with PyTorch on ONNX exports of window-attention transformers:
torchvision's Swin (shifted windows: the attention mask is built from
zeros by slice assignment, which exports as ScatterND over Range, Expand
and Where; the windows merge with the batch axis; q, k, v are gathered
from a permuted tensor) and MaxViT (block and grid attention written as
Einsum, MBConv blocks with BatchNorm and squeeze-excitation).

What it is: at test time it builds the full-size `swin_t` and `maxvit_t`
with random weights (LayerNorm and BatchNorm randomised, so neither is an
identity), a narrow Swin at opset 13 (LayerNorm decomposed) besides the
opset 17 exports, runs `gradcam explain --input-npy` on a batch of 2 at
224x224 for the top-1 class and an explicit class with Grad-CAM, HiResCAM
and LayerCAM, and compares logits (1e-4 of the largest) and raw maps (1e-3
of the largest, or PyTorch float32's own error where a map cancels worse
than that allows) with PyTorch's autograd in float64 plus the reshape
transform the Python CAM libraries use for Swin: the channels-last stage
output [N, h, w, C] becomes [N, C, h, w]. Swin is checked at its default
layer (`features`, the last stage, recognised as channels-last tokens
without --tokens) and at a block's `norm1` inside an earlier stage;
MaxViT at its default layer (`blocks.3`, a [C, h, w] map) and at a block
of the third stage. `gradcam layers` must mark those defaults.

Usage: test_onnx_windows.py --gradcam PATH/TO/gradcam
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
SIZE, BATCH = 224, 2
METHODS = ("gradcam", "hirescam", "layercam")


def randomise(model, seed):
    """LayerNorm and BatchNorm away from the identity; returns model.eval()."""
    oracle.randomise_bn(model, seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def capture(model, x, modules, cls):
    """(logits, [(A, G) per module]) in the model's dtype, one pass; a
    channels-last output (nhwc) is permuted to [N, C, h, w] as the reshape
    transform does. modules: [(module, nhwc)]."""
    acts, grads, hooks = {}, {}, []
    for j, (module, _) in enumerate(modules):
        def hook(_mod, _inp, out, j=j):
            acts[j] = out.clone()  # the module's own output, whatever follows
            out.register_hook(lambda g: grads.__setitem__(j, g))
        hooks.append(module.register_forward_hook(hook))
    dtype = next(model.parameters()).dtype
    logits = model(torch.from_numpy(x).to(dtype))
    for h in hooks:
        h.remove()
    classes = logits.argmax(1) if cls is None else torch.full((x.shape[0],), cls)
    logits.gather(1, classes[:, None]).sum().backward()
    out = []
    for j, (_, nhwc) in enumerate(modules):
        A, G = acts[j].detach(), grads[j].detach()
        out.append((A.permute(0, 3, 1, 2), G.permute(0, 3, 1, 2)) if nhwc else (A, G))
    return logits.detach().double().numpy(), out


def maps_of(A, G):
    return {"gradcam": cam_oracle.gradcam(A, G).numpy(),
            "hirescam": cam_oracle.hirescam(A, G).numpy(),
            "layercam": cam_oracle.layercam(A, G).numpy()}


def reference(model, x, modules, cls):
    """(logits, [{method: map}], [{method: PyTorch float32's error}]) per
    module, in float64. Where a map is a sum of channel products that
    nearly cancel (HiResCAM on a random network's last stage: the map's
    largest value is 1e-6 of the products' sum), float32 itself cannot
    reach 1e-3; PyTorch in float32 measures what it can reach."""
    logits, ag = capture(model.double(), x, modules, cls)
    refs = [maps_of(A, G) for A, G in ag]
    model.float()
    _, ag32 = capture(model, x, modules, cls)
    f32 = [{k: oracle.rel_err(v, ref[k]) for k, v in maps_of(A, G).items()}
           for ref, (A, G) in zip(refs, ag32)]
    return logits, refs, f32


def explain(gradcam, path, xpath, layer, cls, out):
    """(logits, {method: map}, why) from one `gradcam explain` run."""
    argv = [gradcam, "explain", "--model", path, "--input-npy", xpath, "--method",
            ",".join(METHODS), "--out", out]
    if layer is not None:
        argv += ["--layer", layer]
    if cls is not None:
        argv += ["--class", str(cls)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return None, None, p.stderr.strip()
    return (np.load(os.path.join(out, "x.logits.npy")),
            {k: np.load(os.path.join(out, "x.%s.cam.npy" % k)) for k in METHODS}, "")


def export(model, path, opset):
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def check(gradcam, tmp, name, model, path, xpath, x, layers):
    """layers: (name as the CLI takes it or None for the default, module,
    channels-last?). One result per method and class."""
    results = []
    for cls in (None, 5):
        ref_logits, refs, f32s = reference(model, x, [(m, nhwc) for _, m, nhwc in layers], cls)
        for (layer, _, _), ref, f32 in zip(layers, refs, f32s):
            out = os.path.join(tmp, "%s-%s-%s" % (name, layer, cls))
            logits, maps, why = explain(gradcam, path, xpath, layer, cls, out)
            what = "%s %s class %s" % (name, layer or "(default)", "top1" if cls is None else cls)
            # a random network may zero one method's map; not all three
            results.append((any(np.any(v) for v in ref.values()), what + " some map live", ""))
            for k in METHODS:
                if maps is None:
                    results.append((False, "%s %s" % (what, k), why[-300:]))
                    continue
                el, ec = oracle.rel_err(logits, ref_logits), oracle.rel_err(maps[k], ref[k])
                tol = max(CAM_TOL, f32[k])
                results.append((el <= LOGIT_TOL and ec <= tol, "%s %s" % (what, k),
                                "logits %.2e, cam %.2e (torch float32 %.2e), map %s%s" % (
                                    el, ec, f32[k], "x".join(map(str, maps[k].shape)),
                                    "" if np.any(ref[k]) else " (all zero)")))
    return results


def default_line(gradcam, path, layer, want):
    p = subprocess.run([gradcam, "layers", "--model", path], capture_output=True, text=True,
                       timeout=120)
    line = [l for l in p.stdout.splitlines() if l.startswith(layer + " ")]
    return (len(line) == 1 and "*" in line[0] and want in line[0],
            "default layer %s" % layer, line[0] if line else p.stderr.strip()[-200:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    from torchvision.models import maxvit_t, swin_t
    from torchvision.models.swin_transformer import SwinTransformer
    results = []
    with tempfile.TemporaryDirectory(prefix="gc_windows_") as tmp:
        x = oracle.random_inputs((BATCH, 3, SIZE, SIZE), 21)
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, x)

        torch.manual_seed(31)
        swin = randomise(swin_t(), 32)
        path = os.path.join(tmp, "swin_t.onnx")
        export(swin, path, 17)
        results += check(a.gradcam, tmp, "swin_t", swin, path, xpath, x,
                         [(None, swin.features, True),
                          ("features.5.1.norm1", swin.features[5][1].norm1, True)])
        results.append(default_line(a.gradcam, path, "features", "768 x 7 x 7 (tokens)"))
        del swin

        torch.manual_seed(33)
        narrow = randomise(SwinTransformer([4, 4], 24, [2, 2, 2, 2], [2, 2, 2, 4], [7, 7],
                                           num_classes=10), 34)
        path = os.path.join(tmp, "swin_narrow13.onnx")
        export(narrow, path, 13)
        results += check(a.gradcam, tmp, "swin-narrow-opset13", narrow, path, xpath, x,
                         [("features.3.1", narrow.features[3][1], True)])
        del narrow

        torch.manual_seed(35)
        maxvit = randomise(maxvit_t(), 36)
        path = os.path.join(tmp, "maxvit_t.onnx")
        export(maxvit, path, 17)
        results += check(a.gradcam, tmp, "maxvit_t", maxvit, path, xpath, x,
                         [(None, maxvit.blocks[3], False),
                          ("blocks.2.layers.4", maxvit.blocks[2].layers[4], False)])
        results.append(default_line(a.gradcam, path, "blocks.3", "512 x 7 x 7"))
    return oracle.report(results, 48)


if __name__ == "__main__":
    sys.exit(main())
