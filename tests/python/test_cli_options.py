#!/usr/bin/python3
"""The options that describe a model the checkpoint does not: --labels,
--input-size, --mean, --std (issue 3). Each is checked against an
independent computation: the image path with given preprocessing must give
the same logits as a tensor prepared here with OpenCV (cv2.resize, the
seed's pipeline) and passed with --input-npy; label files must name the
classes in the JSON summary; malformed values must be usage errors.

Usage: test_cli_options.py --gradcam BIN --source DIR"""
import argparse, json, os, shutil, sys, tempfile

import cv2
import numpy as np

from clitest import check, finish
from clitest import run as run3


def run(cmd):
    """(exit code, stdout and stderr together)"""
    rc, out, err = run3(cmd)
    return rc, out + err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gc_cli_options_")
    try:
        # the fixture model without its description, so nothing is implied
        model = os.path.join(tmp, "net.pth")
        shutil.copy(os.path.join(a.source, "tests/fixtures/parity/resnet18_w8.pth"), model)
        rng = np.random.default_rng(7)
        img = cv2.GaussianBlur((rng.random((90, 130, 3)) * 255).astype(np.uint8), (9, 9), 0)
        photo = os.path.join(tmp, "photo.png")
        cv2.imwrite(photo, img)

        size, mean, std = 96, (0.3, 0.4, 0.5), (0.2, 0.25, 0.3)
        rc, out = run([a.gradcam, "explain", "--model", model, "--input-size", str(size),
                       "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)),
                       "--out", os.path.join(tmp, "a"), photo])
        check(rc == 0, "explain with --input-size/--mean/--std", out.strip())
        rgb = cv2.cvtColor(cv2.imread(photo), cv2.COLOR_BGR2RGB)
        x = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
        x = ((x - np.array(mean, np.float32)) / np.array(std, np.float32)).transpose(2, 0, 1)[None]
        npy = os.path.join(tmp, "photo.npy")
        np.save(npy, np.ascontiguousarray(x, dtype=np.float32))
        rc2, out2 = run([a.gradcam, "explain", "--model", model, "--input-npy", npy,
                         "--out", os.path.join(tmp, "b")])
        if rc == 0 and rc2 == 0:
            la = np.load(os.path.join(tmp, "a", "photo.logits.npy"))
            lb = np.load(os.path.join(tmp, "b", "photo.logits.npy"))
            ca = np.load(os.path.join(tmp, "a", "photo.gradcam.cam.npy"))
            err = float(np.abs(la - lb).max() / np.abs(lb).max())
            check(err < 1e-5 and ca.shape == (1, 3, 3),
                  "image with the options == OpenCV-prepared tensor", "rel %.1e, map %s" % (err, ca.shape))
        else:
            check(False, "OpenCV-prepared tensor", out2.strip())

        labels = os.path.join(tmp, "labels.txt")
        names = ["label-%d" % i for i in range(10)]
        with open(labels, "w") as f:
            f.write("\n".join(names) + "\n")
        rc, out = run([a.gradcam, "explain", "--model", model, "--labels", labels,
                       "--class", "label-4", "--out", os.path.join(tmp, "c"), photo])
        summary = json.load(open(os.path.join(tmp, "c", "photo.json"))) if rc == 0 else {}
        check(rc == 0 and summary.get("class", {}).get("index") == 4 and
              summary["class"]["name"] == "label-4" and
              all(e["name"] == names[e["index"]] for e in summary["top5"]),
              "--labels names the classes and --class takes them", out.strip())

        with open(os.path.join(tmp, "short.txt"), "w") as f:
            f.write("a\nb\n")
        bad = [
            (["--labels", os.path.join(tmp, "short.txt")], 1, "2 class names, the model has 10"),
            (["--labels", os.path.join(tmp, "missing.txt")], 1, "cannot open"),
            (["--input-size", "5"], 2, "--input-size needs an integer 8-4096"),
            (["--mean", "0.1,0.2"], 2, "--mean needs three numbers"),
            (["--std", "0.2,0,0.1"], 2, "--std needs three positive numbers"),
        ]
        for extra, want_rc, want in bad:
            rc, out = run([a.gradcam, "explain", "--model", model, "--out",
                           os.path.join(tmp, "d")] + extra + [photo])
            check(rc == want_rc and want in out and out.count("\n") == 1,
                  "refused: %s" % " ".join(extra[:1] + [os.path.basename(extra[1])]),
                  "exit %d: %s" % (rc, out.strip()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
