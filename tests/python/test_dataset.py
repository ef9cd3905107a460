#!/usr/bin/python3
"""Data set runs of `gradcam explain` (README, "Data sets"): manifests (CSV
and JSON Lines) and folders, each image's own target, one record per image
in OUT/results.jsonl, failed images recorded while the run goes on,
--fail-fast, progress on stderr, --resume after a SIGKILL, and --shard K/N
joined by `gradcam merge`, against an uninterrupted single run.

Expected answers come from outside the data set code: the scenes' classes
and boxes from demo/scenes.py, and each map from a plain
`gradcam explain --class C IMAGE` of that image alone.

Usage: test_dataset.py --gradcam BIN --source DIR"""
import argparse, json, os, pty, shutil, signal, subprocess, sys, tempfile, time

import numpy as np
from PIL import Image

from clitest import check, finish, run

SEED_BASE = 6  # demo/README.md: 6 is this test's (1000 train, 2-5 others)


def make_scenes(source, folder, count):
    sys.path.insert(0, os.path.join(source, "demo"))
    import scenes
    items = []
    for i in range(count):
        img, objs = scenes.make_scene(scenes.scene_seed(SEED_BASE, i), 1 + (i % 4 == 3))
        sub = "sub" if i % 3 == 0 else "."
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        rel = os.path.normpath(os.path.join(sub, "scene%02d.png" % i))
        Image.fromarray(img).save(os.path.join(folder, rel))
        o = objs[-1]  # in two-object scenes the second object: not always the top-1
        items.append({"path": rel, "class": o["class"], "name": o["name"], "box": o["box"]})
    return items, scenes.CLASSES


def write_csv(path, items, extra=()):
    with open(path, "w") as f:
        f.write("path,target,box\n")
        for k, it in enumerate(list(items) + list(extra)):
            target = it.get("target", it["name"] if k % 2 else str(it["class"]))
            box = '"%s"' % ",".join(map(str, it["box"])) if it.get("box") else ""
            f.write("%s,%s,%s\n" % (it["path"], target, box))


def records(out):
    with open(os.path.join(out, "results.jsonl")) as f:
        return [json.loads(line) for line in f]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    model = os.path.join(a.source, "models", "shapes.pth")
    tmp = tempfile.mkdtemp(prefix="gc_dataset_")
    data = os.path.join(tmp, "data")
    items, classes = make_scenes(a.source, data, 16)
    with open(os.path.join(data, "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really")
    bad = [{"path": "broken.png", "class": 1, "name": "square", "box": None},
           {"path": "nowhere.png", "class": 2, "name": "triangle", "box": None}]
    csv = os.path.join(data, "manifest.csv")
    write_csv(csv, items[:8] + bad + items[8:])
    tool = [a.gradcam, "explain", "--model", model]

    # 1. A CSV manifest: targets by index or name, bad images recorded.
    out = os.path.join(tmp, "csv")
    rc, so, se = run(tool + ["--manifest", csv, "--out", out])
    check(rc == 1, "a run with two bad images exits 1", "exit %d: %s" % (rc, se[-300:]))
    recs = records(out)
    check([r["index"] for r in recs] == list(range(18)), "one record per image, in order",
          str([r["index"] for r in recs]))
    good = [r for r in recs if "error" not in r]
    errs = [r for r in recs if "error" in r]
    check(len(good) == 16 and [r["index"] for r in errs] == [8, 9],
          "16 explained, the broken and the missing file recorded as errors",
          str([(r["index"], r.get("error")) for r in errs]))
    check(all(e["path"] in e["error"] for e in errs), "each error names its file",
          str([e["error"] for e in errs]))
    expect = items[:8] + items[8:]
    ok_targets = all(r["class"] == it["class"] and r["target"] == it["class"] and
                     r["label"] == it["name"] and r["box"] == it["box"]
                     for r, it in zip(good, expect))
    check(ok_targets, "each image explained for its own manifest target (index or name)")
    check(all(r["correct"] == (r["predicted"] == r["target"]) for r in good) and
          sum(r["correct"] for r in good) >= 12,
          "'correct' is top-1 == target; the demo model gets most right",
          "%d of 16" % sum(r["correct"] for r in good))
    check(all(os.path.exists(os.path.join(out, f)) for r in good for f in r["outputs"]),
          "every listed output exists")
    # Maps equal those of explaining each image alone for its class.
    same = True
    for r, it in list(zip(good, expect))[:6]:
        alone = os.path.join(tmp, "alone")
        rc1, _, e1 = run(tool + ["--class", str(it["class"]), "--out", alone,
                                 os.path.join(data, it["path"])])
        stem = os.path.splitext(os.path.basename(it["path"]))[0]
        m1 = np.load(os.path.join(alone, stem + ".gradcam.cam.npy"))
        m2 = np.load(os.path.join(out, r["stem"] + ".gradcam.cam.npy"))
        same &= rc1 == 0 and np.array_equal(m1, m2)
    check(same, "maps equal single-image runs with --class")
    check("18/18 images" in se and "2 failed" in se, "plain progress lines when not a tty",
          se.strip().splitlines()[-1] if se.strip() else "")

    # 2. The same as JSON Lines (relative paths, names and indices).
    jl = os.path.join(data, "manifest.jsonl")
    with open(jl, "w") as f:
        for k, it in enumerate(items[:8] + bad + items[8:]):
            rec = {"path": it["path"], "target": it["name"] if k % 2 else it["class"]}
            if it["box"]:
                rec["box"] = it["box"]
            f.write(json.dumps(rec) + "\n")
    out_jl = os.path.join(tmp, "jsonl")
    rc, so, se = run(tool + ["--manifest", jl, "--out", out_jl, "--quiet"])
    rj = records(out_jl)
    check(rc == 1 and [dict(r, path=None) for r in rj] == [dict(r, path=None) for r in recs],
          "JSON Lines manifest gives the same records as CSV", se[-200:])
    check(se.count("\n") == 2 and so == "", "--quiet: no progress or summary, only the two errors",
          repr(se[-300:]))

    # A spreadsheet's CSV: byte order mark, CRLF, quoted fields, columns
    # in another order with the box split in four.
    bom = os.path.join(data, "excel.csv")
    with open(bom, "wb") as f:
        f.write(b"\xef\xbb\xbfx0,target,y0,x1,y1,path\r\n")
        for it in items[:3]:
            x0, y0, x1, y1 = it["box"]
            f.write(('%d,"%s",%d,%d,%d,"%s"\r\n' % (x0, it["name"], y0, x1, y1, it["path"]))
                    .encode())
    rc, so, se = run(tool + ["--manifest", bom, "--out", os.path.join(tmp, "excel"), "--quiet"])
    rb = records(os.path.join(tmp, "excel")) if rc == 0 else []
    check(rc == 0 and [(r["class"], r["box"]) for r in rb] ==
          [(it["class"], it["box"]) for it in items[:3]],
          "CSV with a byte order mark, CRLF, quotes and x0/y0/x1/y1 columns", se[-200:])

    # 3. --fail-fast stops at the first bad image.
    out_ff = os.path.join(tmp, "ff")
    rc, so, se = run(tool + ["--manifest", csv, "--out", out_ff, "--fail-fast", "--quiet"])
    rf = records(out_ff)
    check(rc == 1 and [r["index"] for r in rf] == list(range(9)) and "error" in rf[-1],
          "--fail-fast: exit 1, stops after the first bad image", str([r["index"] for r in rf]))

    # 4. Folders: recursive, sorted; --glob.
    out_f = os.path.join(tmp, "folder")
    rc, so, se = run(tool + ["--out", out_f, "--quiet", data])
    rf = records(out_f)
    want = sorted(os.path.join(data, it["path"]) for it in items) 
    want = sorted(want + [os.path.join(data, "broken.png")])
    check(rc == 1 and [r["path"] for r in rf] == want,
          "a folder: its images recursively, sorted (the broken one recorded)",
          str([os.path.relpath(r["path"], data) for r in rf][:5]))
    check(all(r["target"] is None and r["class"] == r["predicted"] for r in rf if "error" not in r),
          "no target: each image's top-1")
    out_g = os.path.join(tmp, "glob")
    rc, so, se = run(tool + ["--out", out_g, "--quiet", "--glob", "sub/*.png", data])
    rg = records(out_g)
    check(rc == 0 and [r["path"] for r in rg] == [p for p in want if "/sub/" in p],
          "--glob sub/*.png picks the subfolder", str(len(rg)))

    # 5. A terminal gets a bar redrawn in place.
    master, slave = pty.openpty()
    p = subprocess.Popen(tool + ["--out", os.path.join(tmp, "tty"), "--manifest", csv],
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    text = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        text += chunk
    p.wait()
    t = text.decode(errors="replace")
    check("\r[" in t and "18/18" in t and "img/s" in t and "ETA" in t,
          "on a terminal: a progress bar with done/total, rate and ETA", repr(t[-160:]))

    # 6. Killed halfway, then --resume: equal to an uninterrupted run.
    slow = ["--method", "gradcam,scorecam"]
    big = items * 2
    big = [dict(it, path=it["path"]) for it in big]
    csv2 = os.path.join(data, "big.csv")
    write_csv(csv2, big)
    full = os.path.join(tmp, "full")
    rc, so, se = run(tool + slow + ["--manifest", csv2, "--out", full, "--quiet"])
    check(rc == 0, "uninterrupted run", se[-300:])
    killed = os.path.join(tmp, "killed")
    p = subprocess.Popen(tool + slow + ["--manifest", csv2, "--out", killed, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = os.path.join(killed, "results.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(res) and open(res).read().count("\n") >= len(big) // 3:
            break
        time.sleep(0.01)
    running = p.poll() is None
    p.send_signal(signal.SIGKILL)
    p.wait()
    n_before = open(res).read().count("\n")
    check(running and 0 < n_before < len(big), "killed while running",
          "%d of %d records at the kill" % (n_before, len(big)))
    with open(res, "a") as f:
        f.write('{"index": 47, "path": "torn')  # a record cut short
    rc, so, se = run(tool + slow + ["--manifest", csv2, "--out", killed, "--resume"])
    check(rc == 0 and ("%d already done" % n_before) in so, "--resume skips the finished images",
          so.strip())
    a_text = open(os.path.join(full, "results.jsonl")).read()
    b_text = open(res).read()
    check(a_text == b_text, "resumed results.jsonl equals the uninterrupted one")
    diff = [f for f in sorted(os.listdir(full)) if f.endswith(".npy") and
            open(os.path.join(full, f), "rb").read() != open(os.path.join(killed, f), "rb").read()]
    check(not diff, "resumed maps equal the uninterrupted run's", str(diff[:3]))

    # 7. Shards, merged: equal to the single run.
    shards = []
    for k in range(3):
        d = os.path.join(tmp, "shard%d" % k)
        rc, so, se = run(tool + slow + ["--manifest", csv2, "--out", d, "--quiet",
                                        "--shard", "%d/3" % k])
        shards.append(d)
        check(rc == 0 and [r["index"] for r in records(d)] == list(range(k, len(big), 3)),
              "shard %d/3 takes indices i %% 3 == %d" % (k, k), se[-200:])
    merged = os.path.join(tmp, "merged")
    rc, so, se = run([a.gradcam, "merge"] + shards[::-1] + ["--out", merged])
    check(rc == 0 and open(os.path.join(merged, "results.jsonl")).read() == a_text,
          "merged shards' results.jsonl equals the single run's", se[-200:])
    diff = [f for f in sorted(os.listdir(full)) if not f.endswith(".json") and
            not f.endswith(".jsonl") and
            open(os.path.join(full, f), "rb").read() != open(os.path.join(merged, f), "rb").read()]
    check(not diff and len(os.listdir(merged)) == len(os.listdir(full)),
          "merged folder holds the same files, arrays and pictures identical", str(diff[:3]))
    rc, so, se = run([a.gradcam, "merge", shards[0], shards[2], "--out", os.path.join(tmp, "m2")])
    check(rc == 1 and "missing" in se, "a missing shard is reported (exit 1)", se.strip())
    rc, so, se = run(tool + ["--manifest", csv2, "--shard", "3/3", "--out", merged])
    check(rc == 2, "--shard 3/3 is a usage error", se.strip())

    # 8. Metrics, sanity check and report on two images (a box and a mask):
    # (--baselines is test_metrics.py's and test_report.py's)
    # their code paths, cheaply (tests/python/test_metrics.py checks values).
    mask_img = np.zeros((160, 160), np.uint8)
    x0, y0, x1, y1 = items[1]["box"]
    mask_img[y0:y1 + 1, x0:x1 + 1] = 255
    Image.fromarray(mask_img).save(os.path.join(data, "mask1.png"))
    jl2 = os.path.join(data, "small.jsonl")
    with open(jl2, "w") as f:
        f.write(json.dumps({"path": items[0]["path"], "box": items[0]["box"]}) + "\n")
        f.write(json.dumps({"path": items[1]["path"], "mask": "mask1.png"}) + "\n")
    out_m = os.path.join(tmp, "metrics")
    rc, so, se = run(tool + ["--manifest", jl2, "--out", out_m, "--quiet", "--metrics",
                             "--steps", "4", "--sanity", "fc,conv1", "--report"])
    page = os.path.join(out_m, "index.html")
    check(rc == 0 and os.path.exists(page), "explain --report writes OUT/index.html", se[-200:])
    if os.path.exists(page):
        os.remove(page)
    rm = records(out_m) if rc == 0 else []
    fields = {"deletion", "insertion", "road_morf", "road_lerf", "road", "drop", "increase",
              "pointing", "energy"}
    check(rc == 0 and len(rm) == 2 and
          all(fields <= set(r["metrics"][m]) for r in rm
              for m in ("gradcam",)) and
          all(set(r["sanity"]) == {"fc", "conv1"} for r in rm),
          "--metrics --sanity: every field, with a box and with a mask", se[-300:])
    check(rm and all(r["metrics"]["gradcam"]["pointing"] for r in rm) and
          abs(rm[0]["metrics"]["gradcam"]["energy"] - rm[1]["metrics"]["gradcam"]["energy"]) > 0,
          "Grad-CAM points into the box and into the mask")
    rc, so, se = run([a.gradcam, "report", out_m])
    check(rc == 0 and "<svg" in open(os.path.join(out_m, "index.html")).read(),
          "report writes the page", se.strip())
    shutil.rmtree(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
