#!/usr/bin/python3
"""run_ort_bench.py — gradcam against ONNX Runtime (CPU) on the same ONNX
files, in one invocation, on the same machine (issue 16). Prints one
markdown report:

  * per-image time of ORT's forward pass, of ours, and of our Grad-CAM at
    the default layer, for ResNet-18, ResNet-50, MobileNetV2,
    MobileNetV3-Large, EfficientNet-B0, DenseNet-121, ResNeXt-50 and
    VGG-11-BN, at batch 1 and 16, with 1 and 2 threads, and the ratios
    ORT forward / ours forward and ORT forward / ours Grad-CAM;
  * the peak RSS of our Grad-CAM run for one image against the model's
    weights plus every layer's activations for one image;
  * the machine, the versions and the date.

The models are torchvision's with random weights and randomised BatchNorm
statistics, exported at bench time (opset 13, dynamic batch) by a child
process, so this one stays free of torch. ORT is onnxruntime-node from the
npm registry, installed under build/ort when missing, driven by
bench/ort_worker.js; it is a benchmark dependency only. Each configuration
runs in a fresh process on each side (ours: `gradcam bench`), and the three
measurements of one configuration run back to back, round after round
(--rounds), so that a burst of load on a shared machine tends to hit all
three; each figure is the best round's median. It asserts nothing about
speed: it reports.

  bench/run_ort_bench.py [--gradcam build/gradcam] [--quick] [--models a,b]
                         [--batches 1,16] [--threads 1,2] [--rounds R]
                         [--write] [--out FILE]

--write puts the report in bench/README.md between the lines
<!-- ort:begin --> and <!-- ort:end -->; --out FILE writes it to FILE too.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_bench as rb  # noqa: E402  (process running, RSS, README markers)

ROOT = rb.ROOT
ORT_DIR = os.path.join(ROOT, "build", "ort")
BEGIN, END = "<!-- ort:begin -->", "<!-- ort:end -->"

# name, label, torchvision constructor
MODELS = [
    ("resnet18", "ResNet-18", "resnet18"),
    ("resnet50", "ResNet-50", "resnet50"),
    ("mobilenet_v2", "MobileNetV2", "mobilenet_v2"),
    ("mobilenet_v3_large", "MobileNetV3-Large", "mobilenet_v3_large"),
    ("efficientnet_b0", "EfficientNet-B0", "efficientnet_b0"),
    ("densenet121", "DenseNet-121", "densenet121"),
    ("resnext50", "ResNeXt-50", "resnext50_32x4d"),
    ("vgg11_bn", "VGG-11-BN", "vgg11_bn"),
]

EXPORT = r"""
import json, sys, torch, torchvision
tmp, names = sys.argv[1], sys.argv[2:]
info = {"torch": torch.__version__, "models": {}}
for spec in names:
    name, ctor = spec.split("=")
    torch.manual_seed(0)
    m = getattr(torchvision.models, ctor)().eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5); mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 1.5)
    # every leaf module's output for one image: what a framework that keeps
    # all activations for the backward pass would hold
    acts = [3 * 224 * 224]
    hooks = [mod.register_forward_hook(lambda _m, _i, o: acts.append(o.numel()))
             for mod in m.modules() if not list(mod.children())]
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        m(x)
    for h in hooks:
        h.remove()
    weights = sum(t.numel() for t in list(m.parameters()) + list(m.buffers())
                  if t.is_floating_point())
    torch.onnx.export(m, x, f"{tmp}/{name}.onnx", opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}})
    info["models"][name] = {"weights_mib": weights * 4 / 2**20, "acts_mib": sum(acts) * 4 / 2**20}
    print(name, file=sys.stderr, flush=True)
print(json.dumps(info))
"""


def ensure_ort():
    """onnxruntime-node under build/ort, installed from npm when missing
    (--ignore-scripts: its install script fetches GPU parts from elsewhere,
    and the bundled CPU library is all this needs)."""
    if os.path.isdir(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")):
        return
    os.makedirs(ORT_DIR, exist_ok=True)
    rb.log("installing onnxruntime-node into build/ort (npm)")
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                        "--prefix", ORT_DIR, "onnxruntime-node"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("run_ort_bench: npm could not install onnxruntime-node: " + rb.tail(r.stderr))


def ort_version():
    try:
        with open(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node", "package.json")) as f:
            return json.load(f).get("version", "?")
    except (OSError, ValueError):
        return "?"


def export(tmp, names):
    specs = [f"{n}={ctor}" for n, _, ctor in MODELS if n in names]
    rb.log(f"exporting {len(specs)} models (opset 13, random weights)")
    r = rb.run([rb.PY, "-c", EXPORT, tmp] + specs, 2, 1800)
    if r.rc != 0:
        sys.exit("run_ort_bench: could not export the models: " + rb.tail(r.err))
    return json.loads(r.out.strip().splitlines()[-1])


# ---- measuring ----------------------------------------------------------------------


SIDES = ("ort", "ours", "gradcam")  # ORT forward, our forward, our Grad-CAM


def commands(a, path, batch, iters):
    env_node = ["node", os.path.join(HERE, "ort_worker.js"), path, str(batch)]
    ours = [a.gradcam, "bench", "--model", path, "--batch", str(batch), "--iters", str(iters)]
    return {
        "ort": lambda t: env_node + [str(t), str(iters)],
        "ours": lambda t: ours + ["--method", "forward"],
        "gradcam": lambda t: ours + ["--method", "gradcam"],
    }


def measure(a, tmp, names):
    os.environ["NODE_PATH"] = os.path.join(ORT_DIR, "node_modules")
    jobs = [(n, b, t) for n in names for b in a.batches for t in a.threads]
    results = {}
    for k, (name, batch, threads) in enumerate(jobs, 1):
        iters = a.iters if batch == 1 else a.iters_batched
        cmds = commands(a, os.path.join(tmp, name + ".onnx"), batch, iters)
        row = {s: None for s in SIDES}
        rss = {}
        for rnd in range(a.rounds if batch == 1 else 1):
            for side in SIDES:
                r = rb.run(cmds[side](threads), threads, a.timeout)
                j = r.json()
                ms = j and (j.get("ms_per_image") or j.get("median_ms"))
                if r.rc != 0 or not ms:
                    rb.log(f"[{k}/{len(jobs)}] {side} {name} b{batch} t{threads}: FAILED "
                           f"(exit {r.rc}): {rb.tail(r.err)}")
                    continue
                if row[side] is None or ms < row[side]:
                    row[side] = ms
                rss[side] = max(rss.get(side, 0.0), r.rss_mib)
                rb.log(f"[{k}/{len(jobs)}] round {rnd + 1} {side:7} {name:18} b{batch:<2} "
                       f"t{threads}: {ms:8.1f} ms/image  ({r.rss_mib:5.0f} MiB)")
        row["rss"] = rss
        results[(name, batch, threads)] = row
    return results


# ---- the report ------------------------------------------------------------------------


def ratio(num, den):
    return num / den if num and den else None


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}"


def report(a, info, results, names, started):
    cpu_model, cpus = rb.machine()
    kernels = "?"
    r = rb.run([a.gradcam, "bench", "--model", os.path.join(a.tmp, names[0] + ".onnx"),
                "--method", "forward", "--iters", "1"], 1, a.timeout)
    if r.json():
        kernels = r.json().get("kernels", "?")
    out = [f"## gradcam against ONNX Runtime ({started:%Y-%m-%d})", "",
           f"{cpu_model}, {cpus}; onnxruntime-node {ort_version()} (CPU), PyTorch {info['torch']} "
           f"for the exports; gradcam kernels: {kernels}. Milliseconds per image, the best of "
           f"{a.rounds} interleaved rounds at batch 1 (one round at batch 16), each the median "
           f"of {a.iters} (batch 1) or {a.iters_batched} (batch 16) timed runs after a warm-up. "
           "Ratios above 1 favour gradcam; Grad-CAM is at each model's default layer "
           "(target: ORT forward / our Grad-CAM >= 0.67, i.e. at most 1.5x ORT's forward).", ""]
    for batch in a.batches:
        out += [f"### Batch {batch}", "",
                "| model | threads | ORT forward | gradcam forward | ORT / gradcam "
                "| gradcam Grad-CAM | ORT forward / Grad-CAM |",
                "|---|---|---|---|---|---|---|"]
        for name in names:
            label = dict((n, l) for n, l, _ in MODELS)[name]
            for t in a.threads:
                row = results.get((name, batch, t), {})
                o, f, g = row.get("ort"), row.get("ours"), row.get("gradcam")
                out.append(f"| {label} | {t} | {rb.fmt_ms(o)} | {rb.fmt_ms(f)} | "
                           f"{fmt_ratio(ratio(o, f))} | {rb.fmt_ms(g)} | {fmt_ratio(ratio(o, g))} |")
        out.append("")
    if 1 in a.batches:
        t = min(a.threads)
        out += [f"### Memory, one image, {t} thread{'s' if t > 1 else ''}", "",
                "Peak RSS of the whole process (binary, libraries, thread stacks included) "
                "against the model's weights plus every layer's output for one image "
                "(target: at most 1.5x).", "",
                "| model | weights + activations MiB | gradcam Grad-CAM MiB | ratio "
                "| gradcam forward MiB | ORT forward MiB |", "|---|---|---|---|---|---|"]
        for name in names:
            m = info["models"][name]
            base = m["weights_mib"] + m["acts_mib"]
            rss = results.get((name, 1, t), {}).get("rss", {})
            label = dict((n, l) for n, l, _ in MODELS)[name]
            g = rss.get("gradcam")
            out.append(f"| {label} | {base:.0f} | {g or 0:.0f} | {fmt_ratio(ratio(g, base))} | "
                       f"{rss.get('ours', 0):.0f} | {rss.get('ort', 0):.0f} |")
        out.append("")
    out += summary(a, results, names)
    return "\n".join(out)


def summary(a, results, names):
    """The issue's batch-1 targets, counted from this run. A report, never a test."""
    fwd = [ratio(results.get((n, 1, t), {}).get("ort"), results.get((n, 1, t), {}).get("ours"))
           for n in names for t in a.threads]
    cam = [ratio(results.get((n, 1, t), {}).get("ort"), results.get((n, 1, t), {}).get("gradcam"))
           for n in names for t in a.threads]
    if 1 not in a.batches:
        return []

    def count(values, goal):
        got = [v for v in values if v is not None]
        return f"{sum(v >= goal for v in got)} of {len(got)}"
    return ["### Targets at batch 1", "",
            f"- forward at least as fast as ORT (ratio >= 1): {count(fwd, 1.0)} "
            "model/thread pairs",
            f"- Grad-CAM at most 1.5x ORT's forward (ratio >= 0.67): {count(cam, 1 / 1.5)} "
            "model/thread pairs", ""]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gradcam", default=os.path.join(ROOT, "build", "gradcam"))
    p.add_argument("--models", default=",".join(n for n, _, _ in MODELS))
    p.add_argument("--batches", default="1,16")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--iters", type=int, default=15)
    p.add_argument("--iters-batched", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--quick", action="store_true",
                   help="two models, batch 1, one round of 5 runs: a smoke run")
    p.add_argument("--write", action="store_true")
    p.add_argument("--out")
    a = p.parse_args()
    if a.quick:
        a.models, a.batches, a.rounds, a.iters = "resnet18,mobilenet_v2", "1", 1, 5
    a.batches, a.threads = rb.ints(a.batches), rb.ints(a.threads)
    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in [m[0] for m in MODELS]]
    if unknown:
        sys.exit(f"run_ort_bench: unknown models {unknown}; known: {[m[0] for m in MODELS]}")
    if a.write:  # refuse before the long run, not after it
        try:
            with open(rb.README) as f:
                rb.replace_results(f.read(), "", BEGIN, END)
        except (OSError, ValueError) as e:
            sys.exit(f"run_ort_bench: cannot --write {rb.README}: {e}")
    if not os.access(a.gradcam, os.X_OK):
        sys.exit(f"run_ort_bench: no gradcam at {a.gradcam} (make build first)")
    if not shutil.which("node"):
        sys.exit("run_ort_bench: needs node (apt install nodejs npm)")
    ensure_ort()
    started = datetime.datetime.now()
    a.tmp = tempfile.mkdtemp(prefix="gradcam-ort-")
    try:
        info = export(a.tmp, names)
        results = measure(a, a.tmp, names)
        text = report(a, info, results, names, started)
    finally:
        shutil.rmtree(a.tmp, ignore_errors=True)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.write:
        rb.write_results(rb.README, text, BEGIN, END)
        rb.log(f"wrote {rb.README}")


if __name__ == "__main__":
    main()
