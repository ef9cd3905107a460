#!/usr/bin/python3
"""`gradcam report DIR` (README, "Data sets"): the page is one file that
needs no network, its pictures are the run's own files, and in headless
Chromium (Debian's chromium, npm playwright-core) it loads without a console
or script error, shows every image, its class filter, correctness filter and
metric sort change what is shown exactly as the records say, and a click
opens the full figure. A screenshot is written (--shot, else into the build
folder). What the page must show is computed here from results.jsonl.

playwright-core is installed into the build folder (`npm install
--ignore-scripts playwright-core`) when missing; without node, npm's
registry or chromium the test FAILS, saying which: it never passes by
skipping.

Usage: test_report.py --gradcam BIN --source DIR [--shot PNG]"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

from PIL import Image

from clitest import check, finish, run


def playwright(build):
    if os.path.isdir(os.path.join(build, "node_modules", "playwright-core")):
        return None
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            return "%s not found (Debian: nodejs, npm)" % tool
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                        "--no-save", "playwright-core"], cwd=build, capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        return "npm install playwright-core failed: " + r.stderr[-300:]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shot")
    a = ap.parse_args()
    build = os.getcwd()
    sys.path.insert(0, os.path.join(a.source, "demo"))
    import scenes
    tmp = tempfile.mkdtemp(prefix="gc_report_")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    with open(os.path.join(data, "m.jsonl"), "w") as f:
        for i in range(9):
            img, objs = scenes.make_scene(scenes.scene_seed(6, 900 + i), 1)
            Image.fromarray(img).save(os.path.join(data, "r%d.png" % i))
            o = objs[0]
            target = o["class"] if i != 4 else (o["class"] + 1) % 10  # one wrong target
            f.write(json.dumps({"path": "r%d.png" % i, "target": target, "box": o["box"]}) + "\n")
        f.write(json.dumps({"path": "gone.png"}) + "\n")
    out = os.path.join(tmp, "out")
    rc, so, se = run([a.gradcam, "explain", "--model",
                      os.path.join(a.source, "models", "shapes.pth"), "--manifest",
                      os.path.join(data, "m.jsonl"), "--out", out, "--metrics", "--baselines",
                      "--steps", "10", "--quiet"])
    check(rc == 1, "explain: nine images and a missing one (exit 1)", se[-200:])
    rc, so, se = run([a.gradcam, "report", out])
    page = os.path.join(out, "index.html")
    check(rc == 0 and os.path.exists(page), "report writes index.html", se.strip())
    html = open(page).read()
    urls = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    remote = [u for u in re.findall(r"https?://[^\"' )]+", html)
              if u != "http://www.w3.org/2000/svg"]
    check(not remote and all(not u.startswith("http") for u in urls),
          "no network references in the page", str(remote[:3]))
    recs = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
    good = [r for r in recs if "error" not in r]
    referenced = re.findall(r'"(?:overlay|figure)":"([^"]+)"', html)
    check(referenced and all(os.path.exists(os.path.join(out, p)) and "/" not in p
                             for p in referenced),
          "every picture the page shows is a file in DIR", str(len(referenced)))

    why = playwright(build)
    if why:
        check(False, "playwright-core available", why)
        return finish()
    if not os.path.exists("/usr/bin/chromium"):
        check(False, "chromium installed", "/usr/bin/chromium missing (Debian: chromium)")
        return finish()
    label = good[0]["label"]
    key = "gradcam:deletion"
    shot = a.shot or os.path.join(build, "report-screenshot.png")
    env = dict(os.environ, NODE_PATH=os.path.join(build, "node_modules"))
    r = subprocess.run(["node", os.path.join(a.source, "tests", "python", "report_browser.js"),
                        page, label, key, shot], capture_output=True, text=True, timeout=180,
                       env=env)
    try:
        seen = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        check(False, "Chromium ran the page", (r.stderr or r.stdout)[-400:])
        return finish()
    check("exception" not in seen, "the browser script ran to its end", seen.get("exception", ""))
    check(not seen["console_errors"] and not seen["page_errors"],
          "no console error, no script error",
          str(seen["console_errors"][:2] + seen["page_errors"][:2]))
    check(all(u.startswith("file://") for u in seen["requests"]),
          "every request is a local file", str([u for u in seen["requests"]
                                                if not u.startswith("file://")][:3]))
    check([c["index"] for c in seen.get("all", [])] == [r["index"] for r in recs],
          "every image is shown, in data set order", str(len(seen.get("all", []))))
    check(seen.get("images_loaded") and seen.get("svg_plots") == 3,
          "thumbnails load; three summary plots", "%s %s" % (seen.get("images_loaded"),
                                                             seen.get("svg_plots")))
    want = [r["index"] for r in good if r["label"] == label]
    check([c["index"] for c in seen.get("by_class", [])] == want and len(want) < len(recs),
          "the class filter shows exactly class '%s'" % label, seen.get("count_text", ""))
    want = [r["index"] for r in good if r["correct"] is False]
    check([c["index"] for c in seen.get("wrong", [])] == want and want == [4],
          "the correctness filter shows the wrong prediction", str(seen.get("wrong")))
    check([c["index"] for c in seen.get("failed", [])] == [9], "and the failed image")
    want = [r["index"] for r in sorted(good, key=lambda r: (-r["metrics"]["gradcam"]["deletion"],
                                                            r["index"]))] + [9]
    check(seen.get("sorted") == want, "sorting by deletion AUC, worst first",
          "%s vs %s" % (seen.get("sorted"), want))
    check(seen.get("lightbox") and seen.get("lightbox_closed"),
          "a click shows the full figure; another closes it")
    ok = os.path.exists(shot) and Image.open(shot).size == (1200, 900)
    check(ok, "screenshot written", shot)
    shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
