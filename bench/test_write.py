#!/usr/bin/python3
"""test_write.py — checks `run_bench.py --write` without running a benchmark:
a report rendered from made-up numbers replaces the block between the
results markers of a copy of bench/README.md, the rest of the file stays
byte for byte, a second write gives the same file, and broken markers are
refused before anything is written; `run_ort_bench.py --write` replaces its
own block (the ONNX Runtime markers) and nothing else, and refuses a file
without them before it starts. Needs no PyTorch:

  /usr/bin/python3 bench/test_write.py
"""
import os
import shutil
import sys
import tempfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import run_ort_bench as ob  # noqa: E402


def fake_report():
    """A report from invented numbers (never to be quoted: they test layout)."""
    a = types.SimpleNamespace(iters=7, iters_batched=3, skip_scorecam=False, scorecam_iters=1,
                              scorecam_batches=[1], scorecam_threads=[2], figure_threads=2,
                              figure_runs=3, gradcam="/x/gradcam")
    side = {"ms": 10.0, "load_ms": 40.0, "construct_ms": 90.0, "rss": 100.0, "wall_s": 1.0}
    results = [{"label": label, "batch": 1, "threads": 2, "torch": dict(side, ms=20.0),
                "ours": side} for label, *_ in rb.ROWS]
    figure = {"torch": {"wall_s": 1.5, "rss": 400.0}, "ours": {"wall_s": 0.1, "rss": 100.0}}
    lin = [{"n": n, "wall_s": 0.1 * n, "rss": 90.0 + 6 * n} for n in (1, 16, 64)]
    many = {s: {"wall_s": 1.0, "cpu_s": 1.5, "rss": 100.0, "n": 16} for s in ("torch", "ours")}
    meta = {"cpu": "FAKE CPU", "cpus": "2 CPUs, 2 cores", "load0": 0.1, "load1": 0.2,
            "torch": "0.0", "python": "Python 3", "date": "FAKE DATE", "total_s": 1.0}
    return rb.report(a, meta, results, figure, lin, many)


def split(text):
    """(before, between, after) the marker lines; exactly one of each."""
    lines = text.split("\n")
    b = [i for i, l in enumerate(lines) if l == rb.BEGIN]
    e = [i for i, l in enumerate(lines) if l == rb.END]
    assert len(b) == 1 and len(e) == 1 and b[0] < e[0], "one marker line of each, in order"
    return ("\n".join(lines[:b[0] + 1]), "\n".join(lines[b[0] + 1:e[0]]),
            "\n".join(lines[e[0]:]))


def check_ort(tmp):
    """The ONNX Runtime section's markers: one pair, replaced alone."""
    readme = open(rb.README).read()
    path = os.path.join(tmp, "ORT.md")
    shutil.copy(rb.README, path)
    rb.write_results(path, "## gradcam against ONNX Runtime (FAKE)\n\n| x |\n", ob.BEGIN,
                     ob.END)
    text = open(path).read()
    lines = text.split("\n")
    b, e = lines.index(ob.BEGIN), lines.index(ob.END)
    inner = "\n".join(lines[b + 1:e])
    assert "### gradcam against ONNX Runtime (FAKE)" in inner and "| x |" in inner, inner
    old = readme.split("\n")
    ob_b, ob_e = old.index(ob.BEGIN), old.index(ob.END)
    assert lines[:b] == old[:ob_b] and lines[e:] == old[ob_e:], "the rest kept"
    assert split(text)[1] == split(readme)[1], "the PyTorch results untouched"
    # --write on a file without the markers stops before exporting anything
    with open(path, "w") as f:
        f.write("no markers\n")
    rb.README = path
    sys.argv = ["run_ort_bench.py", "--write", "--gradcam", "/bin/true", "--models", "resnet18"]
    saved = ob.ensure_ort
    def started():
        raise AssertionError("the benchmark started despite the missing markers")
    ob.ensure_ort = started
    try:
        ob.main()
        raise AssertionError("main() returned")
    except SystemExit as e:
        assert "cannot --write" in str(e.code), e.code
    finally:
        ob.ensure_ort = saved
    os.remove(path)


def main():
    readme = open(rb.README).read()
    head, old, tail = split(readme)
    report = fake_report()
    tmp = tempfile.mkdtemp(prefix="bench-write-")
    try:
        path = os.path.join(tmp, "README.md")
        shutil.copy(rb.README, path)
        rb.write_results(path, report)
        once = open(path).read()
        h, inner, t = split(once)
        assert (h, t) == (head, tail), "everything outside the markers kept"
        assert "FAKE DATE" not in old and (not old.strip() or old not in once), "old results gone"
        assert "FAKE CPU" in inner and "FAKE DATE" in inner and "| 2.00x |" in inner, inner
        assert "\n### gradcam vs PyTorch" in inner and "\n## " not in inner, "headings demoted"
        rb.write_results(path, report)
        assert open(path).read() == once, "a second write changes nothing"
        rb.write_results(path, "## short\n\nx\n")
        assert split(open(path).read())[1] == "\n### short\n\nx\n", "exactly the new report"
        for broken in ("no markers\n", f"{rb.END}\n{rb.BEGIN}\n",
                       f"{rb.BEGIN}\n{rb.BEGIN}\n{rb.END}\n", f"{rb.BEGIN}\nx\n"):
            with open(path, "w") as f:
                f.write(broken)
            try:
                rb.write_results(path, report)
                raise AssertionError(f"accepted {broken!r}")
            except ValueError:
                pass
            assert open(path).read() == broken, "a refused write leaves the file alone"
        assert os.listdir(tmp) == ["README.md"], "no temporary file left"
        saved_readme = rb.README
        check_ort(tmp)
        rb.README = saved_readme
        # run_bench.py --write on a file without markers stops before timing anything.
        def started(*_):
            raise AssertionError("the benchmark started despite the missing markers")
        rb.README, rb.make_fixtures = path, started
        sys.argv = ["run_bench.py", "--write", "--gradcam", "/bin/true"]
        try:
            rb.main()
            raise AssertionError("main() returned")
        except SystemExit as e:
            assert "cannot --write" in str(e.code), e.code
    finally:
        shutil.rmtree(tmp)
    print("test_write: ok")


if __name__ == "__main__":
    main()
