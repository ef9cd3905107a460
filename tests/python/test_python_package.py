#!/usr/bin/python3
"""test_python_package.py — the Python package (python/gradcam) as
installed by pip into a venv (CTest's python_install fixture), run with
that venv's interpreter.

What it checks:
- the package imported is the installed one, carrying its own
  libgradcam.so and CLI, and its version is the CLI's;
- Model.layers() lists what `gradcam layers` lists, with the same shapes;
- a .pth model (the reduced-width ResNet-18 parity fixture) at layer4 and
  at layer2.1.bn2 (where torchvision's in-place ops alias the output), and
  an ONNX export of a MobileNetV2 with random BatchNorm at two layers: the
  maps of gradcam, layercam and hirescam and the logits, for each image's
  top-1, one class for all and one class per image (a list with a None),
  against `gradcam explain --input-npy` (the same library: 1e-5) and
  against PyTorch's autograd (cam_oracle's definitions on the module's own
  output, 1e-3 of the map's maximum; logits 1e-4);
- errors: a missing or malformed model, an unknown layer or method, a
  class out of range (one for all, one per image), wrong dtype, shape or
  target length, a closed model, explain_image on a missing photo: each a
  gradcam.Error subclass whose message is the library's (the CLI's line
  without its "gradcam: " prefix where the CLI says the same);
- explain_image: the CLI's files for one photo, its JSON consistent;
- threads: 4 threads sharing one Model, each explaining its own inputs,
  give exactly the maps of the same calls made one after another, and
  the sessions of finished threads are freed; while one thread computes,
  another runs Python (the GIL is released); labels= and limits=.

Usage: test_python_package.py --gradcam PATH/TO/gradcam --source SOURCE_DIR
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle  # noqa: E402
import hook_oracle  # noqa: E402
import oracle  # noqa: E402
from clitest import check, finish  # noqa: E402

import gradcam  # noqa: E402  (the installed package, not the source tree)

LOGIT_TOL, CAM_TOL, SAME_LIB_TOL = 1e-4, 1e-3, 1e-5
METHODS = ("gradcam", "layercam", "hirescam")
REFS = {"gradcam": cam_oracle.gradcam, "layercam": cam_oracle.layercam,
        "hirescam": cam_oracle.hirescam}
worst = {"autograd": 0.0, "cli": 0.0}


def rel(a, b):
    """max|a - b| / max|b|; an all-zero b needs a all zero within 1e-6."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    peak = np.abs(b).max()
    d = np.abs(a - b).max()
    return d / peak if peak > 0 else (0.0 if d <= 1e-6 else float("inf"))


def run_cli(cli, args):
    p = subprocess.run([cli] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr.strip()


def cli_maps(cli, model, x, layer, cls, tmp):
    """The CLI's logits and maps for x (one class for all, or None)."""
    npy = os.path.join(tmp, "x.npy")
    np.save(npy, x)
    out = os.path.join(tmp, "cli-out")
    args = ["explain", "--model", model, "--input-npy", npy, "--layer", layer,
            "--method", ",".join(METHODS), "--out", out]
    if cls is not None:
        args += ["--class", str(cls)]
    rc, _, err = run_cli(cli, args)
    if rc:
        raise RuntimeError(err)
    return (np.load(os.path.join(out, "x.logits.npy")),
            {m: np.load(os.path.join(out, "x.%s.cam.npy" % m)) for m in METHODS})


def compare(name, r, ref_logits, ref_classes, ref_maps, kind):
    """r (a gradcam.Result) against reference logits, classes and maps."""
    errs = {m: rel(r.maps[m], ref_maps[m]) for m in METHODS}
    el = rel(r.logits, ref_logits)
    tol = CAM_TOL if kind == "autograd" else SAME_LIB_TOL
    ok = (list(r.classes) == list(ref_classes) and el <= (LOGIT_TOL if kind == "autograd"
                                                          else SAME_LIB_TOL)
          and all(e <= tol for e in errs.values()))
    worst[kind] = max([worst[kind], el] + list(errs.values()))
    check(ok, "%s vs %s" % (name, kind), "classes %s, logits %.1e, maps %s" % (
        list(r.classes), el, " ".join("%s %.1e" % kv for kv in errs.items())))


def autograd_per_image(model, x, layer, targets, capture):
    """Reference maps, logits and classes, each image on its own with its
    own class (None: its top-1)."""
    maps = {m: [] for m in METHODS}
    logits, classes = [], []
    for i in range(len(x)):
        c = capture(model, x[i:i + 1], layer, targets[i])
        for m in METHODS:
            maps[m].append(REFS[m](c["A"], c["G"]).numpy()[0])
        logits.append(c["logits"].numpy()[0])
        classes.append(int(c["classes"][0]))
    return np.stack(logits), classes, {m: np.stack(v) for m, v in maps.items()}


def check_model(cli, label, path, torch_model, x, layers, capture, tmp):
    m = gradcam.Model(path)
    n = len(x)
    top = m.explain(x, layer=layers[0]).classes
    # One explicit class for all, and a per-image list mixing explicit
    # classes (not the image's top-1) and None.
    one = int((top[0] + 1) % m.num_classes)
    per = [int((top[0] + 3) % m.num_classes), None] + \
          [int((top[i] + 5) % m.num_classes) for i in range(2, n)]
    for layer in layers:
        for tname, target in (("top-1", None), ("class %d" % one, one),
                              ("per-image %s" % per, per)):
            r = m.explain(x, layer=layer, target=target, methods=METHODS)
            name = "%s %s %s" % (label, layer, tname)
            targets = [target] * n if not isinstance(target, list) else target
            ref = autograd_per_image(torch_model, x, layer, targets, capture)
            compare(name, r, *ref, kind="autograd")
            if isinstance(target, list):  # the CLI: one run per explicit class
                for i, c in enumerate(target):
                    lg, mp = cli_maps(cli, path, x, layer, c, tmp)
                    sub = gradcam.Result(r.logits[i:i + 1], r.classes[i:i + 1],
                                         {k: v[i:i + 1] for k, v in r.maps.items()}, [], 0, 0)
                    compare("%s image %d" % (name, i), sub, lg[i:i + 1],
                            [r.classes[i]], {k: v[i:i + 1] for k, v in mp.items()}, "cli")
            else:
                lg, mp = cli_maps(cli, path, x, layer, target, tmp)
                compare(name, r, lg, r.classes, mp, "cli")
    return m


def check_layers(cli, m):
    rc, out, _ = run_cli(cli, ["layers", "--model", m.path])
    listed = []
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, rest = line.split(None, 1)
        rest = rest.lstrip("* ").strip()
        shape = None if rest.startswith("(") else tuple(int(v) for v in rest.split(" x "))
        listed.append((name, shape))
    ours = m.layers()
    check(rc == 0 and ours == listed and len(ours) > 10,
          "layers() = gradcam layers (%d layers)" % len(ours),
          "" if ours == listed else "%s vs %s" % (ours[:4], listed[:4]))


def expect_error(label, fn, cls, message=None, contains=()):
    try:
        fn()
    except gradcam.Error as e:
        ok = isinstance(e, cls) and (message is None or str(e) == message) and \
            all(c in str(e) for c in contains)
        check(ok, "error: " + label, "%s(%r)%s" % (type(e).__name__, str(e),
              "" if ok or message is None else " expected %r" % message))
        return
    except Exception as e:  # noqa: BLE001 — any other exception fails the check
        check(False, "error: " + label, "raised %s(%r), not a gradcam.Error" %
              (type(e).__name__, str(e)))
        return
    check(False, "error: " + label, "no exception")


def check_errors(cli, m, x, tmp):
    rc, _, err = run_cli(cli, ["layers", "--model", "/nonexistent/model.pth"])
    expect_error("missing model", lambda: gradcam.Model("/nonexistent/model.pth"),
                 gradcam.FileError, err.replace("gradcam: ", "", 1))
    bad = os.path.join(tmp, "bad.onnx")
    with open(bad, "wb") as f:
        f.write(bytes(range(256)) * 3)
    rc, _, err = run_cli(cli, ["layers", "--model", bad])
    expect_error("malformed model", lambda: gradcam.Model(bad), gradcam.FormatError,
                 err.replace("gradcam: ", "", 1))
    rc, _, err = run_cli(cli, ["layers", "--model", m.path, "--output", "1"])
    expect_error("an output a .pth model lacks", lambda: gradcam.Model(m.path, output=1),
                 gradcam.UsageError, err.replace("gradcam: ", "", 1), ("applies to ONNX",))
    npy = os.path.join(tmp, "x.npy")
    np.save(npy, x)
    rc, _, err = run_cli(cli, ["explain", "--model", m.path, "--input-npy", npy,
                               "--layer", "layer9", "--out", os.path.join(tmp, "e")])
    expect_error("unknown layer", lambda: m.explain(x, layer="layer9"), gradcam.UsageError,
                 err.replace("gradcam: ", "", 1), ("layer9", "closest"))
    expect_error("unknown method", lambda: m.explain(x, methods=("gradcam", "nosuch")),
                 gradcam.UsageError, contains=("unknown method 'nosuch'", "layercam"))
    expect_error("class out of range", lambda: m.explain(x, target=m.num_classes),
                 gradcam.UsageError, contains=("class %d is out of range" % m.num_classes,))
    expect_error("per-image class out of range",
                 lambda: m.explain(x, target=[0, None, 99][:len(x)]), gradcam.UsageError,
                 contains=("class 99 (a per-image class) is out of range",))
    expect_error("target list of the wrong length", lambda: m.explain(x, target=[1]),
                 gradcam.UsageError, contains=("1 classes for %d images" % len(x),))
    expect_error("float64 input", lambda: m.explain(x.astype(np.float64)), gradcam.UsageError,
                 contains=("float32", "float64"))
    expect_error("3-D input", lambda: m.explain(x[0]), gradcam.UsageError,
                 contains=("[N, 3, H, W]", str(list(x[0].shape))))
    expect_error("one channel", lambda: m.explain(x[:, :1]), gradcam.UsageError,
                 contains=("[N, 3, H, W]",))
    expect_error("a list, not an array", lambda: m.predict(x.tolist()), gradcam.UsageError,
                 contains=("NumPy array",))
    nope = os.path.join(tmp, "nope.png")
    rc, _, err = run_cli(cli, ["explain", "--model", m.path, "--out", os.path.join(tmp, "e"),
                               nope])
    expect_error("missing photo", lambda: gradcam.explain_image(
        m, nope, out_dir=os.path.join(tmp, "e")), gradcam.FileError,
        err.replace("gradcam: ", "", 1))
    garbage = os.path.join(tmp, "garbage.png")
    with open(garbage, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(100))
    rc, _, err = run_cli(cli, ["explain", "--model", m.path, "--out", os.path.join(tmp, "e"),
                               garbage])
    expect_error("malformed photo", lambda: gradcam.explain_image(
        m, garbage, out_dir=os.path.join(tmp, "e")), gradcam.FormatError,
        err.replace("gradcam: ", "", 1), ("garbage.png",))
    closed = gradcam.Model(m.path)
    closed.close()
    expect_error("closed model", lambda: closed.explain(x), gradcam.UsageError,
                 contains=("closed",))


def check_explain_image(source, tmp):
    m = gradcam.Model(os.path.join(source, "models", "shapes.pth"))
    out = os.path.join(tmp, "figures")
    doc = gradcam.explain_image(m, os.path.join(source, "examples", "scenes", "star.png"),
                                out_dir=out, methods=("gradcam", "layercam"))
    files = doc.get("files", [])
    present = all(os.path.isfile(os.path.join(out, f)) for f in files)
    cam = np.load(os.path.join(out, "star.gradcam.cam.npy"))
    logits = np.load(os.path.join(out, "star.logits.npy"))
    cls = doc.get("class") or {}
    check(present and "star.layercam.overlay.png" in files and "star.gradcam.figure.png" in files
          and cam.shape == (1, 5, 5) and int(np.argmax(logits)) == cls.get("index")
          and cls.get("name") == "star",
          "explain_image writes the CLI's files", "%s; class %s" % (files, cls))


def check_threads(m):
    rng = np.random.default_rng(5)
    jobs = [[(rng.standard_normal((2, 3, 64, 64)).astype(np.float32), "layer%d" % (3 + r % 2))
             for r in range(3)] for _ in range(4)]
    serial = [[m.explain(x, layer=l, methods=("gradcam", "layercam")) for x, l in job]
              for job in jobs]
    results = [[None] * 3 for _ in jobs]
    errors = []
    start = threading.Barrier(len(jobs))

    def work(t):
        try:
            start.wait()
            for k, (x, l) in enumerate(jobs[t]):
                results[t][k] = m.explain(x, layer=l, methods=("gradcam", "layercam"))
        except Exception as e:  # noqa: BLE001 — reported on the main thread
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    same = not errors and all(
        np.array_equal(a.logits, b.logits) and list(a.classes) == list(b.classes) and
        all(np.array_equal(a.maps[k], b.maps[k]) for k in a.maps)
        for sr, tr in zip(serial, results) for a, b in zip(sr, tr))
    check(same, "4 threads sharing one Model = serial", "; ".join(errors))
    # Each thread had its own session; those of finished threads are gone.
    check(len(m._sessions) == 1, "finished threads' sessions are freed",
          "%d live" % len(m._sessions))


def check_labels_limits(m, tmp):
    names = os.path.join(tmp, "names.txt")
    with open(names, "w") as f:
        f.write("".join("thing %d\n" % i for i in range(m.num_classes)))
    lm = gradcam.Model(m.path, labels=names)
    check(lm.class_name(3) == "thing 3" and m.class_name(3) == "class_3",
          "labels= names the classes", "%r %r" % (lm.class_name(3), m.class_name(3)))
    expect_error("max_weight_bytes over the model", lambda: gradcam.Model(
        m.path, limits={"max_weight_bytes": 4096}), gradcam.LimitError, contains=("4096",))
    expect_error("unknown limit", lambda: gradcam.Model(m.path, limits={"max_pixels": 1}),
                 gradcam.UsageError, contains=("max_pixels",))


def check_gil_released(m):
    """While one thread is inside the library, another runs Python: the
    longest pause between the main thread's steps must be far shorter than
    the library call (with the GIL held, it would be the whole call)."""
    x = oracle.random_inputs((2, 3, 224, 224), 31)
    for _ in range(6):  # grow the call until it takes 0.5 s or more
        t = time.perf_counter()
        m.explain(x, layer="layer3", methods=("gradcam", "scorecam"))
        took = time.perf_counter() - t
        if took >= 0.5:
            break
        x = np.concatenate([x, x])
    done = threading.Event()
    span = []

    def work():
        t = time.perf_counter()
        m.explain(x, layer="layer3", methods=("gradcam", "scorecam"))
        span.append(time.perf_counter() - t)
        done.set()

    th = threading.Thread(target=work)
    last, gap, steps = time.perf_counter(), 0.0, 0  # before the thread can take the GIL
    th.start()
    while not done.is_set():
        time.sleep(0.002)
        now = time.perf_counter()
        gap, last, steps = max(gap, now - last), now, steps + 1
    th.join()
    check(span and span[0] >= 0.2 and gap < 0.5 * span[0],
          "the GIL is released during explain",
          "call %.2f s, longest pause of the main thread %.3f s (%d steps)" % (
              span[0] if span else 0, gap, steps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    t0 = time.time()
    torch.set_num_threads(2)
    pkg = os.path.dirname(os.path.abspath(gradcam.__file__))
    check(pkg.startswith(os.path.realpath(sys.prefix)) or pkg.startswith(sys.prefix),
          "gradcam imported from the venv", pkg)
    check(os.path.dirname(os.path.abspath(gradcam._lib.path)) == pkg and
          os.access(os.path.join(pkg, "bin", "gradcam"), os.X_OK),
          "libgradcam.so and the CLI bundled", gradcam._lib.path)
    _, out, _ = run_cli(a.gradcam, ["--version"])
    check(gradcam.version() in out.split(), "version %s = CLI's" % gradcam.version(), out.strip())

    with tempfile.TemporaryDirectory(prefix="gc-py-") as tmp:
        pth = os.path.join(a.source, "tests", "fixtures", "parity", "resnet18_w8.pth")
        tm = oracle.model_from_state_dict(torch.load(pth))
        x = oracle.random_inputs((3, 3, 97, 129), 11)
        pth_model = check_model(a.gradcam, "pth", pth, tm, x, ["layer4", "layer2.1.bn2"],
                                lambda mod, xi, layer, c: cam_oracle.capture(mod, xi, layer, c),
                                tmp)
        check_layers(a.gradcam, pth_model)

        torch.manual_seed(3)
        net = torchvision.models.mobilenet_v2(weights=None, width_mult=0.35, num_classes=10)
        oracle.randomise_bn(net, 4)
        onnx_path = os.path.join(tmp, "mobilenet_v2.onnx")
        torch.onnx.export(net, torch.zeros(1, 3, 96, 96), onnx_path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        xo = oracle.random_inputs((3, 3, 96, 96), 12)
        check_model(a.gradcam, "onnx", onnx_path, net, xo, ["features.6", "features"],
                    hook_oracle.capture, tmp)

        check_errors(a.gradcam, pth_model, x, tmp)
        check_explain_image(a.source, tmp)
        check_threads(pth_model)
        check_gil_released(pth_model)
        check_labels_limits(pth_model, tmp)
    print("worst relative error: vs autograd %.1e, vs CLI %.1e (%.0f s)" % (
        worst["autograd"], worst["cli"], time.time() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
