#!/usr/bin/python3
"""Writes the committed parity fixtures: small models, inputs, expected
logits and Grad-CAMs computed by PyTorch (oracle.py), and a manifest.

What it is: the one place the expected arrays in tests/fixtures/parity/
come from. Seeded and deterministic for a given PyTorch build (every file
comes out byte-identical except the legacy-format checkpoint, whose
storage keys are memory addresses); re-run it after changing the oracle
and commit the result (the total stays < 4 MB).
Models are reduced-width ResNets (same keys as torchvision) so that both
formats of torch.save and BasicBlock/Bottleneck are covered in little space.

Before writing anything it asserts that the fixtures actually test what
they claim: the alias pitfall shows at layer2.1.bn2, top-1 classes differ
between images and have a clear margin, explicit-class maps are non-zero,
and every case is well-conditioned in float32 (float32 vs float64 oracle
far below the 1e-4 tolerance).

What it deliberately does not do: run the C engine (test_parity.py does).

Usage: /usr/bin/python3 make_parity_fixtures.py [OUTDIR]
"""
import copy
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "fixtures", "parity")
NUM_CLASSES = 10
CLASS_NAMES = ["class_%d" % i for i in range(NUM_CLASSES)]
COMMON_LAYERS = ["layer4", "layer4.1.conv2", "layer3.0.downsample.0",
                 "layer2.1.bn2", "layer1", "conv1", "bn1", "maxpool"]
MODELS = {
    # file stem: (depth, widths, seed, extra layers, also legacy format)
    "resnet18_w8": (18, (8, 16, 32, 64), 18, ["layer4.1"], False),
    "resnet50_w4": (50, (4, 8, 16, 32), 50, ["layer4.2.conv3", "layer3.0.bn3"],
                    True),
}
INPUTS = {
    # stem: (shape, seed); one batch of 1 at 224, one odd-sized batch of 3
    "x1_224x224": ((1, 3, 224, 224), 1001),
    "x3_97x129": ((3, 3, 97, 129), 1003),
}
LEGACY_LAYERS = ["layer4", "layer2.1.bn2", "conv1"]
JPEG = "shapes_203x301.jpg"
JPEG_LAYERS = ["layer4", "layer2.1.bn2"]
TOL = 1e-4
TOL_JPEG = 1e-3
CONDITION_LIMIT = 1e-5  # float32 vs float64 oracle; must be << TOL


def draw_image(h, w, seed):
    """A procedurally drawn RGB picture: gradient, discs, bars, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3))
    img[..., 0] = 255 * xx / w
    img[..., 1] = 255 * yy / h
    img[..., 2] = 128 + 100 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    for _ in range(6):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(10, 50)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    for _ in range(4):
        y0, x0 = int(rng.uniform(0, h - 20)), int(rng.uniform(0, w - 20))
        img[y0:y0 + int(rng.uniform(5, 40)), x0:x0 + int(rng.uniform(20, 90))] = \
            rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_jpeg(path, seed):
    import cv2
    rgb = draw_image(203, 301, seed)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    with open(path, "wb") as f:
        f.write(buf.tobytes())


def model_json(stem, model_file):
    return {"name": stem, "classes": CLASS_NAMES, "input_size": 224,
            "mean": list(oracle.IMAGENET_MEAN), "std": list(oracle.IMAGENET_STD),
            "default_layer": "layer4", "preprocess": "stretch"}


def check_conditioning(model, x, layers, cls):
    """float32 oracle vs float64 oracle, per layer (and for the logits)."""
    l32, c32, k32 = oracle.gradcam_multi(model, x, layers, cls)
    m64 = copy.deepcopy(model).double()
    l64, c64, k64 = oracle.gradcam_multi(m64, torch.from_numpy(x).double(),
                                         layers, cls)
    assert torch.equal(k32, k64), "float32/float64 disagree on top-1"
    worst = {"logits": oracle.rel_err(l32.numpy(), l64.numpy())}
    for L in layers:
        worst[L] = oracle.rel_err(c32[L].numpy(), c64[L].numpy())
    return worst


def check_zero_maps(raw, what):
    """An all-zero map must be clearly negative before the ReLU, so that
    float32 noise in another implementation cannot make it positive."""
    for L, r in raw.items():
        for i in range(r.shape[0]):
            top = r[i].max().item()
            if top <= 0:
                margin = -top / r[i].abs().max().item()
                assert margin > 1e-3, "%s %s image %d: zero map only by %.1e" \
                    % (what, L, i, margin)


def check_margin(logits, what):
    """Top-1 must not be a near tie, or float noise could flip the class."""
    s = np.sort(logits, axis=1)
    margin = ((s[:, -1] - s[:, -2]) / np.abs(logits).max()).min()
    assert margin > 1e-3, "%s: top-1 margin %.2e too small" % (what, margin)
    return float(margin)


def choose_explicit_class(model, inputs, layers):
    """The first class that is no image's top-1 and whose maps are non-zero
    at every layer for every image, so the explicit-class cases compare
    real maps (all-zero ones already occur among the top-1 cases)."""
    tops = set()
    for x in inputs.values():
        with torch.no_grad():
            tops |= set(model(torch.from_numpy(x)).argmax(1).tolist())
    for c in range(NUM_CLASSES):
        if c in tops:
            continue
        if all(cam.amax(dim=(1, 2)).min() > 0
               for x in inputs.values()
               for cam in oracle.gradcam_multi(model, x, layers, c)[1].values()):
            return c
    raise AssertionError("no class gives non-zero maps everywhere")


def case_entry(name, model_file, layer, cls, exp_logits, exp_cam, classes,
               tol, **extra):
    e = {"name": name, "model": model_file, "layer": layer, "class": cls,
         "class_arg": None if cls is None else str(cls),
         "expected_logits": exp_logits, "expected_cam": exp_cam,
         "target_classes": [int(c) for c in classes], "tol": tol}
    e.update(extra)
    return e


def main(out):
    torch.set_num_threads(2)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "expected"))
    cases = []
    notes = []
    inputs = {}
    for stem, (shape, seed) in INPUTS.items():
        inputs[stem] = oracle.random_inputs(shape, seed)
        np.save(os.path.join(out, stem + ".npy"), inputs[stem])
    probe_sizes = [s[0][2:] for s in INPUTS.values()]

    for mstem, (depth, widths, seed, extra, legacy) in MODELS.items():
        model = oracle.make_model(depth, widths, NUM_CLASSES, seed,
                                  probe_sizes=probe_sizes)
        files = [mstem + ".pth"]
        torch.save(model.state_dict(), os.path.join(out, files[0]))
        if legacy:
            files.append(mstem + "_legacy.pth")
            torch.save(model.state_dict(), os.path.join(out, files[1]),
                       _use_new_zipfile_serialization=False)
        for f in files:
            with open(os.path.join(out, f[:-4] + ".json"), "w") as fh:
                json.dump(model_json(mstem, f), fh, indent=1)
        layers = COMMON_LAYERS + extra
        explicit = choose_explicit_class(model, inputs, layers)
        notes.append("%s: explicit class %d" % (mstem, explicit))

        # The aliasing pitfall must be visible on these very weights.
        naive, clone = oracle.cross_check(model, inputs["x3_97x129"],
                                          "layer2.1.bn2")
        notes.append("%s: naive hook at layer2.1.bn2 off by %.3f relative; "
                     "clone-in-hook recipe agrees (%.1e)" % (mstem, naive, clone))

        for istem, x in inputs.items():
            logits = None
            for cls in (None, explicit):
                raw = {}
                lg, cams, classes = oracle.gradcam_multi(model, x, layers, cls,
                                                         pre_relu=raw)
                check_zero_maps(raw, "%s/%s/%s" % (mstem, istem, cls))
                lg = lg.numpy().astype(np.float32)
                if logits is None:
                    logits = lg
                    check_margin(lg, "%s/%s" % (mstem, istem))
                    lname = "expected/%s__%s__logits.npy" % (mstem, istem)
                    np.save(os.path.join(out, lname), logits)
                assert np.array_equal(lg, logits)
                cond = check_conditioning(model, x, layers, cls)
                for L, e in cond.items():
                    assert e < CONDITION_LIMIT, \
                        "%s/%s/%s/%s ill-conditioned: f32 vs f64 %.2e" \
                        % (mstem, istem, L, cls, e)
                tag = "top1" if cls is None else "c%d" % cls
                for L in layers:
                    cam = cams[L].numpy().astype(np.float32)
                    if cls is not None:
                        assert cam.max() > 0, "%s %s %s: all-zero explicit map" \
                            % (mstem, istem, L)
                    cname = "expected/%s__%s__%s__%s.cam.npy" % (mstem, istem,
                                                                 L, tag)
                    np.save(os.path.join(out, cname), cam)
                    for f in files:
                        if f != files[0] and L not in LEGACY_LAYERS:
                            continue
                        cases.append(case_entry(
                            "%s/%s/%s/%s" % (f[:-4], istem, L, tag), f, L, cls,
                            lname, cname, classes.numpy(), TOL,
                            input=istem + ".npy",
                            cond_f32_vs_f64=cond[L]))
            if istem.startswith("x3"):
                distinct = len(set(np.argmax(logits, 1).tolist()))
                assert distinct >= 2, "%s: batch has one top-1 class" % mstem
                notes.append("%s/%s: top-1 classes %s" % (
                    mstem, istem, np.argmax(logits, 1).tolist()))
        # One explicit class given by name, the CLI's other spelling.
        c = [e for e in cases if e["model"] == files[0] and e["layer"] == "layer4"
             and e["class"] == explicit and e["input"].startswith("x3")][0]
        byname = dict(c, name=c["name"] + "-by-name",
                      class_arg=CLASS_NAMES[explicit])
        cases.append(byname)

        if mstem == "resnet18_w8":
            # The seed's image pipeline on a JPEG, decoded by OpenCV.
            jpath = os.path.join(out, JPEG)
            write_jpeg(jpath, 77)
            xj = oracle.load_image_cv2(jpath)
            lname = "expected/%s__%s__logits.npy" % (mstem, JPEG[:-4])
            for cls in (None, explicit):
                lg, cams, classes = oracle.gradcam_multi(model, xj, JPEG_LAYERS,
                                                         cls)
                np.save(os.path.join(out, lname), lg.numpy().astype(np.float32))
                tag = "top1" if cls is None else "c%d" % cls
                for L in JPEG_LAYERS:
                    cname = "expected/%s__%s__%s__%s.cam.npy" % (
                        mstem, JPEG[:-4], L, tag)
                    np.save(os.path.join(out, cname),
                            cams[L].numpy().astype(np.float32))
                    cases.append(case_entry(
                        "%s/%s/%s/%s" % (mstem, JPEG[:-4], L, tag), files[0], L,
                        cls, lname, cname, classes.numpy(), TOL_JPEG,
                        image=JPEG))

    manifest = {
        "about": "Grad-CAM parity fixtures; written by "
                 "tests/python/make_parity_fixtures.py, checked by "
                 "tests/python/test_parity.py",
        "torch": torch.__version__,
        "num_classes": NUM_CLASSES,
        "rel_error": "max|ours-ref| / max|ref|; an all-zero ref needs ours "
                     "all zero within 1e-6 absolute",
        "notes": notes,
        "cases": cases,
    }
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, fs in os.walk(out) for f in fs)
    print("%d cases, %d files, %.2f MB in %s" % (
        len(cases), sum(len(fs) for _, _, fs in os.walk(out)), total / 2**20,
        os.path.normpath(out)))
    for n in notes:
        print("  " + n)
    assert total < 4 * 2**20, "fixtures exceed 4 MB"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
