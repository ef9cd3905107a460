#!/usr/bin/python3
"""run_bench.py — gradcam against PyTorch, in one invocation, on the same
machine, model and input sizes (issue 7). Prints one markdown report:

  * per-image time of PyTorch and of ours, and the ratio PyTorch/ours, for
    the no-grad forward pass, Grad-CAM at layer4 and at layer1, and Score-CAM
    at layer4, at batch 1 and 16, with 1 and 2 threads;
  * model load time, time from command start to the written figure for one
    JPEG, and the peak RSS of every process;
  * how our Grad-CAM's time and memory grow with 1, 16 and 64 images;
  * the machine and the date.

Each configuration runs in a fresh process on each side (ours: `gradcam
bench`; PyTorch: bench/torch_worker.py), with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set, and torch.set_num_threads on the PyTorch side. Both
sides time in-process after a warm-up, so start-up and model loading do not
count in the per-image figures. The model is a full-size ResNet-18 with
random weights and randomised BatchNorm statistics: timing does not depend on
the values, and nothing is downloaded.

It deliberately asserts nothing about speed: machines are noisy; it reports.

  bench/run_bench.py [--gradcam build/gradcam] [--quick] [--write] [--out FILE]

--write puts the report in bench/README.md, between the lines
<!-- results:begin --> and <!-- results:end -->, in place of what was there
(the "current results"); --out FILE writes it to FILE as well.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
README = os.path.join(HERE, "README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- running one process ------------------------------------------------------


class Run:
    """What one child process did: exit code, wall seconds, peak RSS (MiB),
    CPU seconds (user + system, all threads), stdout and stderr."""

    def __init__(self, rc, wall_s, rss_mib, out, err, cpu_s=None):
        self.rc, self.wall_s, self.rss_mib, self.out, self.err = rc, wall_s, rss_mib, out, err
        self.cpu_s = cpu_s

    def json(self):
        """The last JSON line on stdout, or None."""
        for line in reversed(self.out.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None


EXTRA_ENV = {}  # --omp-passive puts OMP_WAIT_POLICY here, for both sides


def run(cmd, threads, timeout):
    """Runs cmd with the thread variables set; waits with wait4, which gives
    this one child's own rusage (RUSAGE_CHILDREN would be the maximum over
    every child so far)."""
    env = dict(os.environ, **EXTRA_ENV)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        killed = []

        def kill():
            killed.append(True)
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        except BaseException:  # Ctrl-C or SIGTERM: take the child with us
            kill()
            os.wait4(p.pid, 0)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if killed:
            stderr += f"\n(killed after {timeout} s)"
        return Run(p.returncode, wall, usage.ru_maxrss / 1024.0,
                   out.read().decode(errors="replace"), stderr,
                   usage.ru_utime + usage.ru_stime)


def tail(text, n=3):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])


# ---- fixtures: the model, a photo, npy batches -------------------------------


FOLDER = 16  # photos in the folder run


def make_fixtures(tmp, npy_counts):
    """A random ResNet-18 as a torchvision state_dict, a procedural JPEG, a
    folder of FOLDER variations of it and float32 [N,3,224,224] batches,
    written by a child process so that this one stays free of torch."""
    code = r"""
import sys, cv2, numpy as np, torch, torchvision
tmp = sys.argv[1]
torch.manual_seed(0)
m = torchvision.models.resnet18()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5); mod.bias.uniform_(-0.2, 0.2)
            mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 1.5)
torch.save(m.state_dict(), tmp + "/resnet18.pth")
rng = np.random.default_rng(0)
h, w = 480, 640
yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
img = np.stack([xx / w * 200, yy / h * 180, (xx + yy) / (w + h) * 255], -1)
img = img.astype(np.uint8).copy()
cv2.circle(img, (420, 200), 110, (30, 40, 220), -1)
cv2.rectangle(img, (60, 260), (260, 430), (40, 200, 60), -1)
cv2.ellipse(img, (200, 120), (90, 50), 30, 0, 360, (220, 200, 30), -1)
img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
cv2.imwrite(tmp + "/photo.jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
import os
os.makedirs(tmp + "/photos")
for k in range(FOLDER):  # different photos, so no run can reuse another's result
    im = np.roll(img, (37 * k, 53 * k), (0, 1))
    cv2.circle(im, (40 * k % w, 25 * k % h), 30 + k, (255, 255, 255), -1)
    cv2.imwrite(tmp + f"/photos/p{k:02d}.jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])
for n in map(int, sys.argv[2:]):
    np.save(tmp + f"/batch{n}.npy", rng.standard_normal((n, 3, 224, 224), dtype=np.float32))
print(torch.__version__)
"""
    code = code.replace("FOLDER", str(FOLDER))
    r = run([PY, "-c", code, tmp] + [str(n) for n in npy_counts], 1, 300)
    if r.rc != 0:
        sys.exit("run_bench: could not make the model and inputs: " + tail(r.err))
    return r.out.strip().splitlines()[-1]


# ---- the per-image table -----------------------------------------------------


ROWS = [  # label, torch_worker --what, our --method, layer
    ("forward (no grad)", "forward", "forward", "layer4"),
    ("Grad-CAM layer4", "gradcam", "gradcam", "layer4"),
    ("Grad-CAM layer1", "gradcam", "gradcam", "layer1"),
    ("Score-CAM layer4", "scorecam", "scorecam", "layer4"),
]


def plan(a):
    """(label, torch what, our method, layer, batch, threads, iters)."""
    jobs = []
    for threads in a.threads:
        for batch in a.batches:
            for label, what, method, layer in ROWS:
                if what == "scorecam":
                    if a.skip_scorecam or batch not in a.scorecam_batches \
                            or threads not in a.scorecam_threads:
                        continue
                    iters = a.scorecam_iters
                else:
                    iters = a.iters if batch == 1 else a.iters_batched
                jobs.append((label, what, method, layer, batch, threads, iters))
    return jobs


def measure(a, model, jobs):
    results = []
    for k, (label, what, method, layer, batch, threads, iters) in enumerate(jobs, 1):
        row = {"label": label, "batch": batch, "threads": threads, "iters": iters}
        # PyTorch first, then ours, back to back, so that a burst of load on
        # a shared machine tends to hit both.
        for side, cmd in (
            ("torch", [PY, os.path.join(HERE, "torch_worker.py"), "--model", model,
                       "--what", what, "--layer", layer, "--batch", str(batch),
                       "--iters", str(iters), "--threads", str(threads)]),
            ("ours", [a.gradcam, "bench", "--model", model, "--method", method,
                      "--layer", layer, "--batch", str(batch), "--iters", str(iters)]),
        ):
            r = run(cmd, threads, a.timeout)
            j = r.json()
            if r.rc != 0 or not j:
                log(f"[{k}/{len(jobs)}] {side} {label} b{batch} t{threads}: FAILED "
                    f"(exit {r.rc}): {tail(r.err)}")
                row[side] = None
                continue
            row[side] = {"ms": j["ms_per_image"], "load_ms": j.get("load_ms"),
                         "construct_ms": j.get("construct_ms"), "rss": r.rss_mib,
                         "wall_s": r.wall_s}
            log(f"[{k}/{len(jobs)}] {side:5} {label:18} b{batch:<2} t{threads}: "
                f"{j['ms_per_image']:9.1f} ms/image  ({r.wall_s:5.1f} s, {r.rss_mib:5.0f} MiB)")
        results.append(row)
    return results


# ---- load, start to figure, linearity -----------------------------------------


def start_to_figure(a, tmp, model, photo, threads):
    out = {}
    for side, cmd in (
        ("torch", [PY, os.path.join(HERE, "torch_explain.py"), "--model", model,
                   "--out", os.path.join(tmp, "fig-torch"), photo]),
        ("ours", [a.gradcam, "explain", "--model", model,
                  "--out", os.path.join(tmp, "fig-ours"), photo]),
    ):
        runs = []
        for _ in range(a.figure_runs):
            r = run(cmd, threads, a.timeout)
            if r.rc != 0:
                log(f"start-to-figure {side}: FAILED (exit {r.rc}): {tail(r.err)}")
                runs = []
                break
            runs.append(r)
        if runs:
            out[side] = {"wall_s": statistics.median(r.wall_s for r in runs),
                         "rss": max(r.rss_mib for r in runs)}
            log(f"start-to-figure {side:5}: {out[side]['wall_s']:.3f} s, "
                f"{out[side]['rss']:.0f} MiB")
    return out


def folder(a, tmp, model, threads):
    """Both tools over a folder of photos in one process: PyTorch one photo
    after another, ours with decoding and writing overlapping the compute."""
    photos = sorted(os.path.join(tmp, "photos", f) for f in os.listdir(os.path.join(tmp, "photos")))
    out = {}
    for side, cmd in (
        ("torch", [PY, os.path.join(HERE, "torch_explain.py"), "--model", model,
                   "--out", os.path.join(tmp, "folder-torch")] + photos),
        ("ours", [a.gradcam, "explain", "--model", model,
                  "--out", os.path.join(tmp, "folder-ours")] + photos),
    ):
        r = run(cmd, threads, a.timeout)
        if r.rc != 0:
            log(f"folder {side}: FAILED (exit {r.rc}): {tail(r.err)}")
            continue
        out[side] = {"wall_s": r.wall_s, "cpu_s": r.cpu_s, "rss": r.rss_mib, "n": len(photos)}
        log(f"folder of {len(photos)} {side:5}: {r.wall_s:.2f} s wall, {r.cpu_s:.2f} s CPU")
    return out


def linearity(a, tmp, model, threads):
    rows = []
    for n in a.linear_counts:
        r = run([a.gradcam, "explain", "--model", model, "--layer", "layer4",
                 "--input-npy", os.path.join(tmp, f"batch{n}.npy"),
                 "--out", os.path.join(tmp, f"lin{n}")], threads, a.timeout)
        if r.rc != 0:
            log(f"linearity N={n}: FAILED (exit {r.rc}): {tail(r.err)}")
            rows.append({"n": n, "wall_s": None, "rss": None})
            continue
        rows.append({"n": n, "wall_s": r.wall_s, "rss": r.rss_mib})
        log(f"linearity N={n:<3}: {r.wall_s:6.2f} s, {r.rss_mib:6.0f} MiB")
    return rows


# ---- the report ---------------------------------------------------------------


def fmt_ms(v):
    return "—" if v is None else (f"{v:.1f}" if v < 1000 else f"{v:,.0f}")


def machine():
    model, cpus = platform.processor() or "?", os.cpu_count()
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = dict(l.split(":", 1) for l in info.splitlines() if ":" in l)
        model = fields.get("Model name", model).strip()
        cores = int(fields.get("Core(s) per socket", "0").strip() or 0) * \
            int(fields.get("Socket(s)", "1").strip() or 1)
        cpus = f"{fields.get('CPU(s)', cpus).strip()} CPUs, {cores} cores"
    except (OSError, ValueError):
        pass
    return model, cpus


def find(results, label, batch, threads, side):
    for r in results:
        if (r["label"], r["batch"], r["threads"]) == (label, batch, threads) and r.get(side):
            return r[side]["ms"]
    return None


def targets(results, figure, lin):
    """Issue 7's "done means", read off this run's numbers; '?' where the
    run lacks the row. A report, never a test."""
    def ratio(label, b, t, pt_label=None):
        pt = find(results, pt_label or label, b, t, "torch")
        us = find(results, label, b, t, "ours")
        return pt / us if pt and us else None

    def line(text, value, goal, ok):
        verdict = "?" if value is None else ("met" if ok(value) else "NOT met")
        shown = "—" if value is None else goal.format(value)
        return f"| {text} | {shown} | {verdict} |"

    L = ["## Targets of issue 7, from this run\n", "| target | measured | |", "|---|---:|---|"]
    for b, t in ((1, 2), (16, 2), (1, 1), (16, 1)):
        need = 5 if (b, t) == (1, 2) else 4
        L.append(line(f"Grad-CAM layer4, batch {b}, {t} thread(s): >= {need}x PyTorch's",
                      ratio("Grad-CAM layer4", b, t), "{:.2f}x", lambda v, n=need: v >= n))
    L.append(line("Grad-CAM layer4, batch 1, 2 threads: >= 1.5x PyTorch's no-grad forward",
                  ratio("Grad-CAM layer4", 1, 2, "forward (no grad)"), "{:.2f}x",
                  lambda v: v >= 1.5))
    for b in (1, 16):
        for t in (2, 1):
            v = ratio("Score-CAM layer4", b, t)
            if v is not None or (b, t) == (1, 2):
                L.append(line(f"Score-CAM layer4, batch {b}, {t} thread(s): >= 2x PyTorch's",
                              v, "{:.2f}x", lambda v: v >= 2))
    fo = figure.get("ours")
    L.append(line("Peak RSS of `gradcam explain`, one image: <= 150 MB (taken as MiB)",
                  fo and fo["rss"], "{:.0f} MiB", lambda v: v <= 150))
    L.append(line("Start to written figure, one JPEG: < 0.3 s", fo and fo["wall_s"],
                  "{:.2f} s", lambda v: v < 0.3))
    ok = [r for r in lin if r["wall_s"] is not None]
    if len(ok) >= 3 and ok[1]["n"] > ok[0]["n"]:
        per = [((r["wall_s"] - ok[0]["wall_s"]) / (r["n"] - ok[0]["n"]),
                (r["rss"] - ok[0]["rss"]) / (r["n"] - ok[0]["n"])) for r in ok[1:]]
        # Linear: an extra image costs the same in the largest batch as in
        # the middle one (within 25%, or 5 ms / 2 MiB: the machine is noisy).
        def drift(x, y, floor):
            return abs(x - y) / max(abs(x), abs(y), floor)

        spread = max(drift(per[0][0], per[-1][0], 0.005), drift(per[0][1], per[-1][1], 2.0))
        L.append(line(f"Time and memory linear in images ({', '.join(str(r['n']) for r in ok)})",
                      spread, "extra-image cost drifts {:.0%}", lambda v: v <= 0.25))
    return L


def report(a, meta, results, figure, lin, many):
    order = {label: i for i, (label, *_rest) in enumerate(ROWS)}
    results = sorted(results, key=lambda r: (order[r["label"]], r["batch"], r["threads"]))
    L = []
    L.append("## gradcam vs PyTorch: ResNet-18, 224x224, per image\n")
    L.append("| what | batch | threads | PyTorch ms/image | ours ms/image | PyTorch/ours |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for r in results:
        pt, us = r.get("torch"), r.get("ours")
        ratio = f"{pt['ms'] / us['ms']:.2f}x" if pt and us and us["ms"] > 0 else "—"
        L.append(f"| {r['label']} | {r['batch']} | {r['threads']} | "
                 f"{fmt_ms(pt and pt['ms'])} | {fmt_ms(us and us['ms'])} | {ratio} |")
    L.append("")
    L.append(f"Median of {a.iters} timed runs at batch 1 and {a.iters_batched} at batch 16, "
             "each after one warm-up run and on a fresh random input; timed inside each "
             "process, so start-up and loading are not counted.")
    if not a.skip_scorecam:
        L.append(f"Score-CAM (512 masked forward passes per image): {a.scorecam_iters} timed "
                 f"run(s), batch {', '.join(map(str, a.scorecam_batches))} only, "
                 f"{', '.join(map(str, a.scorecam_threads))} thread(s) — to keep the run short.")
    else:
        L.append("Score-CAM skipped (--skip-scorecam).")
    L.append("")

    def pick(side, key):
        vals = [r[side][key] for r in results if r.get(side) and r[side].get(key) is not None]
        return statistics.median(vals) if vals else None

    pt_load, us_load, pt_cons = pick("torch", "load_ms"), pick("ours", "load_ms"), \
        pick("torch", "construct_ms")
    L.append("## Load, start to figure, memory\n")
    L.append(f"- Model load (ResNet-18 .pth, median over the processes above): PyTorch "
             f"{fmt_ms(pt_load)} ms (torch.load + load_state_dict; building the module "
             f"first took another {fmt_ms(pt_cons)} ms), ours {fmt_ms(us_load)} ms.")
    ft, fo = figure.get("torch"), figure.get("ours")
    L.append(f"- Start to written figure, one 640x480 JPEG, {a.figure_threads} threads "
             f"(median of {a.figure_runs}): PyTorch "
             f"{'—' if not ft else format(ft['wall_s'], '.2f')} s "
             "(torch_explain.py: imports, load, Grad-CAM layer4, cv2.imwrite), ours "
             f"{'—' if not fo else format(fo['wall_s'], '.2f')} s (`gradcam explain`).")
    L.append(f"- Peak RSS of those processes: PyTorch "
             f"{'—' if not ft else format(ft['rss'], '.0f')} MiB, ours "
             f"{'—' if not fo else format(fo['rss'], '.0f')} MiB.")
    for side, name in (("torch", "PyTorch (torch_explain.py, one photo after another)"),
                       ("ours", "ours (`gradcam explain`, decoding and writing on their own "
                                "threads)")):
        f = many.get(side)
        if f:
            L.append(f"- A folder of {f['n']} 640x480 JPEGs in one process, "
                     f"{a.figure_threads} threads, {name}: {f['wall_s']:.2f} s "
                     f"({f['wall_s'] * 1e3 / f['n']:.0f} ms per photo with start-up), "
                     f"CPU {f['cpu_s']:.2f} s = {f['cpu_s'] / f['wall_s']:.2f} cores busy "
                     "on average.")
    L.append("")
    L.append("Peak RSS (MiB) of each timing process above:\n")
    L.append("| what | batch | threads | PyTorch MiB | ours MiB |")
    L.append("|---|---:|---:|---:|---:|")
    for r in results:
        pt, us = r.get("torch"), r.get("ours")
        L.append(f"| {r['label']} | {r['batch']} | {r['threads']} | "
                 f"{'—' if not pt else format(pt['rss'], '.0f')} | "
                 f"{'—' if not us else format(us['rss'], '.0f')} |")
    L.append("")

    L.append(f"## Linearity: `gradcam explain --input-npy` (N images, Grad-CAM layer4, "
             f"{a.figure_threads} threads)\n")
    L.append("| images | wall s | wall ms/image | peak RSS MiB | ms per extra image | "
             "MiB per extra image |")
    L.append("|---:|---:|---:|---:|---:|---:|")
    base = lin[0] if lin and lin[0]["wall_s"] is not None else None
    for r in lin:
        if r["wall_s"] is None:
            L.append(f"| {r['n']} | failed | | | | |")
            continue
        extra_t = extra_m = "—"
        if base and r["n"] > base["n"]:
            dn = r["n"] - base["n"]
            extra_t = f"{(r['wall_s'] - base['wall_s']) * 1e3 / dn:.1f}"
            extra_m = f"{(r['rss'] - base['rss']) / dn:.1f}"
        L.append(f"| {r['n']} | {r['wall_s']:.2f} | {r['wall_s'] * 1e3 / r['n']:.1f} | "
                 f"{r['rss']:.0f} | {extra_t} | {extra_m} |")
    L.append("")
    L.append("Wall time includes process start, model load and writing the maps; the "
             "per-extra-image columns subtract the 1-image run.")
    L.append("")
    L += targets(results, figure, lin)
    L.append("")
    L.append("## Machine\n")
    L.append(f"- CPU: {meta['cpu']} ({meta['cpus']})")
    L.append(f"- Load average (1 min) at start / end: {meta['load0']:.2f} / {meta['load1']:.2f}"
             " — above 0.5 means other work shared the cores and the numbers are noisy")
    L.append("- OMP_WAIT_POLICY: " + (EXTRA_ENV.get("OMP_WAIT_POLICY") or
             os.environ.get("OMP_WAIT_POLICY") or "unset (PyTorch: the OpenMP default; "
             "ours: a short spin when nothing else runs, see src/cli/main.c)"))
    L.append(f"- PyTorch {meta['torch']} (Debian python3-torch), {meta['python']}; "
             f"ours: `{a.gradcam}`")
    L.append(f"- Date: {meta['date']}; total run {meta['total_s']:.0f} s")
    return "\n".join(L) + "\n"


# ---- bench/README.md's current results ---------------------------------------------


def replace_results(doc, report, begin=BEGIN, end=END):
    """doc (the text of bench/README.md) with everything between its one
    begin and its one end marker line replaced by report, whose headings go
    one level down ("## x" becomes "### x") to sit under the README's own.
    Raises ValueError, leaving nothing half written, when the markers are
    missing, repeated or out of order."""
    lines = doc.split("\n")
    b = [i for i, l in enumerate(lines) if l.strip() == begin]
    e = [i for i, l in enumerate(lines) if l.strip() == end]
    if len(b) != 1 or len(e) != 1 or b[0] > e[0]:
        raise ValueError(f"want exactly one '{begin}' line and, after it, one '{end}' line "
                         f"(found {len(b)} and {len(e)})")
    body = ["#" + l if l.startswith("#") else l for l in report.strip("\n").split("\n")]
    return "\n".join(lines[:b[0] + 1] + [""] + body + [""] + lines[e[0]:])


def write_results(path, report, begin=BEGIN, end=END):
    """Replaces path's current results (between the begin and end markers)
    by report, atomically: a temporary file renamed over it."""
    with open(path) as f:
        text = replace_results(f.read(), report, begin, end)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- main -----------------------------------------------------------------------


def ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gradcam", default=os.path.join(ROOT, "build", "gradcam"),
                   help="our binary (default: build/gradcam)")
    p.add_argument("--quick", action="store_true",
                   help="fewer timed runs, Score-CAM with 2 threads only")
    p.add_argument("--write", action="store_true",
                   help="replace the current results in bench/README.md with this report")
    p.add_argument("--out", help="also write the report to this file")
    p.add_argument("--threads", type=ints, default=[1, 2])
    p.add_argument("--batches", type=ints, default=[1, 16])
    p.add_argument("--iters", type=int, help="timed runs at batch 1 (default 7; quick 3)")
    p.add_argument("--iters-batched", type=int,
                   help="timed runs at batch > 1 (default 3; quick 1)")
    p.add_argument("--scorecam-iters", type=int, default=1)
    p.add_argument("--scorecam-batches", type=ints, default=[1],
                   help="Score-CAM batch sizes (default 1; 16 takes minutes per run)")
    p.add_argument("--scorecam-threads", type=ints, help="default 1,2; quick 2")
    p.add_argument("--skip-scorecam", action="store_true")
    p.add_argument("--figure-runs", type=int, help="start-to-figure runs (default 3; quick 1)")
    p.add_argument("--linear-counts", type=ints, default=[1, 16, 64])
    p.add_argument("--timeout", type=float, default=600, help="seconds per process")
    p.add_argument("--omp-passive", action="store_true",
                   help="OMP_WAIT_POLICY=PASSIVE on both sides (saner numbers on a busy "
                        "machine; the default leaves it as users have it)")
    a = p.parse_args()
    if a.omp_passive:
        EXTRA_ENV["OMP_WAIT_POLICY"] = "PASSIVE"
    a.iters = a.iters or (3 if a.quick else 7)
    a.iters_batched = a.iters_batched or (1 if a.quick else 3)
    a.scorecam_threads = a.scorecam_threads or ([max(a.threads)] if a.quick else a.threads)
    a.figure_runs = a.figure_runs or (1 if a.quick else 3)
    a.figure_threads = max(a.threads)
    a.gradcam = os.path.abspath(a.gradcam)
    if a.write:  # the markers are checked now, not after minutes of timing
        try:
            with open(README) as f:
                replace_results(f.read(), "")
        except (OSError, ValueError) as e:
            sys.exit(f"run_bench: cannot --write {README}: {e}")
    if not os.access(a.gradcam, os.X_OK):
        sys.exit(f"run_bench: {a.gradcam} is not an executable (run 'make build' first, "
                 "or give --gradcam)")

    # SIGTERM unwinds like Ctrl-C, so the running child and the temporary
    # directory go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("run_bench: terminated"))
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="gradcam-bench-")
    try:
        log(f"run_bench: fixtures in {tmp}")
        torch_version = make_fixtures(tmp, a.linear_counts)
        model, photo = os.path.join(tmp, "resnet18.pth"), os.path.join(tmp, "photo.jpg")
        results = measure(a, model, plan(a))
        figure = start_to_figure(a, tmp, model, photo, a.figure_threads)
        lin = linearity(a, tmp, model, a.figure_threads)
        many = folder(a, tmp, model, a.figure_threads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cpu, cpus = machine()
    meta = {"cpu": cpu, "cpus": cpus, "load0": load0, "load1": os.getloadavg()[0],
            "torch": torch_version, "python": "Python " + platform.python_version(),
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "total_s": time.perf_counter() - t_start}
    text = report(a, meta, results, figure, lin, many)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        log(f"run_bench: wrote {a.out}")
    if a.write:
        write_results(README, text)
        log(f"run_bench: replaced the current results in {README}")
    failed = any(r.get("torch") is None or r.get("ours") is None for r in results) \
        or len(figure) < 2 or len(many) < 2 or any(r["wall_s"] is None for r in lin)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
