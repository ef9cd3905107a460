#!/usr/bin/python3
"""A strict command line (issue 15): each command takes only its own
options and names them when given another; an unknown option is refused
wherever it stands; the usage names every command and the formats and
input size the tool really has; a directory given as an image says so;
inputs sharing a file stem get outputs of their own, recorded in the JSON;
a --method list with an empty or repeated entry is refused. Every check
looks at exit codes, messages and the files on disk.

Usage: test_cli_strict.py --gradcam BIN --source DIR"""
import argparse, json, os, re, shutil, sys, tempfile

import cv2
import numpy as np

from clitest import check, finish, run

USAGE, BAD_INPUT = 2, 1
COMMANDS = ["explain", "predict", "layers", "bench"]


class Env:
    def __init__(self, gradcam, source, tmp):
        self.gradcam, self.tmp = gradcam, tmp
        # the fixture ResNet without its description beside it
        self.model = os.path.join(tmp, "net.pth")
        shutil.copy(os.path.join(source, "tests/fixtures/parity/resnet18_w8.pth"), self.model)
        self.rng = np.random.default_rng(15)
        self.photo = self.image("photo.png")

    def image(self, rel, h=60, w=80):
        """A blurred random picture at tmp/rel (PNG or JPEG by extension)."""
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        img = cv2.GaussianBlur((self.rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 0)
        cv2.imwrite(path, img)
        return path

    def tool(self, *args):
        return run([self.gradcam] + list(args))

    def out(self, name):
        """A fresh output directory path (not created)."""
        return os.path.join(self.tmp, "out", name)


def help_options(env, cmd):
    """The --options a command's --help offers (besides --help): those in its
    usage lines and option table, the lines that start with "usage:" or a
    space; the prose below may mention other commands' options."""
    rc, out, err = env.tool(cmd, "--help")
    offered = [l for l in out.splitlines() if l.startswith(("usage:", " "))]
    return rc, set(re.findall(r"--[a-z][a-z-]*", "\n".join(offered))) - {"--help"}


def listed_options(err):
    """The options an 'unknown option' message lists for the command."""
    m = re.search(r"\(options of \w+: ([^)]*)\)", err)
    return set(re.findall(r"--[a-z][a-z-]*", m.group(1))) - {"--help"} if m else set()


def test_foreign_options(env):
    """An option of another command is unknown here, and the message lists
    exactly the options this command's --help documents."""
    cases = [
        ("predict", ["--method", "x"], [env.photo]),
        ("layers", ["--class", "3"], []),
        ("explain", ["--top", "3"], [env.photo]),
        ("predict", ["--out", env.out("predict")], [env.photo]),
        ("bench", ["--top", "3"], []),
        ("layers", ["--input-npy", "x.npy"], []),
    ]
    for cmd, extra, inputs in cases:
        out_dir = env.out("foreign-" + cmd)
        argv = [cmd, "--model", env.model] + extra + inputs
        if cmd == "explain":
            argv[1:1] = ["--out", out_dir]
        rc, out, err = env.tool(*argv)
        hrc, documented = help_options(env, cmd)
        listed = listed_options(err)
        check(rc == USAGE and "gradcam %s: unknown option '%s'" % (cmd, extra[0]) in err and
              listed and listed == documented and not out and not os.path.exists(out_dir),
              "%s %s: unknown, lists %s's options" % (cmd, extra[0], cmd),
              "exit %d: %s; --help names %s" % (rc, err.strip(), sorted(documented)))


def test_documented_options_accepted(env):
    """Every option a command's --help names is one it takes: with --help
    beside it, the worst it may earn is a complaint about its value."""
    for cmd in COMMANDS:
        hrc, documented = help_options(env, cmd)
        refused = []
        for opt in sorted(documented):
            rc, out, err = env.tool(cmd, opt + "=1", "--help")
            if "unknown option" in err:
                refused.append(opt)
        check(hrc == 0 and documented and not refused, "%s takes what its --help names" % cmd,
              "refused: %s" % refused)


def test_unknown_anywhere(env):
    """--bogus (and -x, --bogus=1) is 'unknown option' before, between and
    after the other arguments, and nothing is written."""
    for where, cmd, args in [
        ("first", "explain", ["--bogus", "--model", env.model, env.photo]),
        ("after --model", "explain", ["--model", env.model, "--bogus", env.photo]),
        ("after the image", "explain", ["--model", env.model, env.photo, "--bogus"]),
        ("between images", "explain", ["--model", env.model, env.photo, "--bogus", env.photo]),
        ("with a value", "explain", ["--model", env.model, "--bogus=1", env.photo]),
        ("single dash", "explain", ["--model", env.model, "-x", env.photo]),
        ("after the image", "predict", ["--model", env.model, env.photo, "--bogus"]),
        ("single dash", "predict", ["--model", env.model, "-x", env.photo]),
        ("last", "layers", ["--model", env.model, "--bogus"]),
        ("last", "bench", ["--model", env.model, "--iters", "1", "--bogus"]),
    ]:
        out_dir = env.out("unknown")
        argv = [cmd] + (["--out", out_dir] if cmd == "explain" else []) + args
        rc, out, err = env.tool(*argv)
        bad = next(x for x in args if x.startswith("-") and x not in ("--model", "--iters"))
        check(rc == USAGE and "unknown option '%s'" % bad in err and "options of %s:" % cmd in err
              and not out and not os.path.exists(out_dir),
              "%s: unknown option %s" % (cmd, where), "exit %d: %s" % (rc, err.strip()))
    rc, out, err = env.tool("--bogus")
    check(rc == USAGE and "unknown option '--bogus'" in err, "gradcam --bogus: unknown option",
          "exit %d: %s" % (rc, err.strip()))
    # after "--" a name starting with '-' is an input again
    rc, out, err = env.tool("predict", "--model", env.model, "--", "-x.png")
    check(rc == BAD_INPUT and "-x.png" in err and "unknown option" not in err,
          "after --, -x.png is an image", "exit %d: %s" % (rc, err.strip()))
    rc, out, err = env.tool("explain", "--model", env.model, "--out", "--bogus", env.photo)
    check(rc == USAGE and "--out needs a value" in err and not os.path.exists("--bogus"),
          "an option is not taken as the value of --out", "exit %d: %s" % (rc, err.strip()))


def test_usage(env):
    """The usage and the unknown-command message name every command (each of
    which answers --help), bench's synopsis has its real options, and the
    usage names the model formats the tool loads and its input size."""
    rc, usage, _ = env.tool("--help")
    synopsis = [l.strip() for l in usage.splitlines() if l.strip().startswith("gradcam ")]
    named = {l.split()[1] for l in synopsis}
    erc, _, err = env.tool("frobnicate")
    m = re.search(r"\(commands: ([^;)]*)", err)
    listed = set(re.findall(r"[a-z]+", m.group(1))) if m else set()
    check(rc == 0 and set(COMMANDS) <= named and erc == USAGE and set(COMMANDS) <= listed,
          "usage and 'unknown command' name every command",
          "synopsis: %s; message: %s" % (sorted(named), err.strip()))
    for cmd in COMMANDS:
        hrc, hout, _ = env.tool(cmd, "--help")
        arc, aout, _ = env.tool("help", cmd)
        check(hrc == 0 and hout.startswith("usage: gradcam " + cmd) and arc == 0 and aout == hout,
              "%s --help and 'help %s'" % (cmd, cmd), "exit %d / %d" % (hrc, arc))
    lines = usage.splitlines()
    at = next((i for i, l in enumerate(lines) if l.strip().startswith("gradcam bench")), None)
    bench = [] if at is None else [lines[at]] + [
        l for l in lines[at + 1:at + 3] if l.strip().startswith("[")][:1]
    in_synopsis = set(re.findall(r"--[a-z][a-z-]*", " ".join(bench)))
    _, bench_options = help_options(env, "bench")
    check({"--model", "--batch", "--size", "--iters", "--method"} <= in_synopsis <= bench_options,
          "bench's synopsis has its real options", "synopsis: %s" % sorted(in_synopsis))
    _, explain_help, _ = env.tool("explain", "--help")
    for text, where in ((usage, "--help"), (explain_help, "explain --help")):
        low = text.lower()
        check("onnx" in low and "safetensors" in low and ".pth" in low and "224" in text and
              "--input-size" in text, "%s names ONNX, safetensors, .pth, 224 and --input-size"
              % where)


def test_directory_input(env):
    """A directory where predict's image goes (or explain's --input-npy) is
    refused before anything is done, even after a good image; the message
    says it is a directory."""
    folder = os.path.dirname(env.image("folder/inside.png"))
    out_dir = env.out("dir")
    # explain takes folders as a data set (tests/python/test_dataset.py).
    for label, cmd, args in [("predict IMG DIR", "predict", [env.photo, folder]),
                             ("explain --input-npy DIR", "explain",
                              ["--out", out_dir, "--input-npy", folder])]:
        rc, out, err = env.tool(cmd, "--model", env.model, *args)
        check(rc == BAD_INPUT and "%s: is a directory" % args[-1] in err and not out and
              not os.path.exists(out_dir), label + ": is a directory",
              "exit %d: %s" % (rc, err.strip()))


def json_of(out_dir, stem):
    path = os.path.join(out_dir, stem + ".json")
    return json.load(open(path)) if os.path.exists(path) else {}


def test_same_stem(env):
    """a/cat.png, b/cat.png, cat.jpg and cat-2.png all have files of their
    own; each JSON names its image, the files (all on disk, all of the
    directory between them) and the input it shares a stem with; the
    numbering is the same on a second run; the renamed image's results are
    its own (its logits match a run of it alone)."""
    inputs = [env.image("a/cat.png"), env.image("b/cat.png", 70, 50), env.image("cat.jpg"),
              env.image("cat-2.png", 40, 90)]
    want = {"cat": (inputs[0], None), "cat-3": (inputs[1], inputs[0]),
            "cat-4": (inputs[2], inputs[0]), "cat-2": (inputs[3], None)}
    dirs = [env.out("stem1"), env.out("stem2")]
    for out_dir in dirs:
        rc, out, err = env.tool("explain", "--model", env.model, "--out", out_dir,
                                "--method", "gradcam,guidedbackprop", *inputs)
        summaries = {s: json_of(out_dir, s) for s in want}
        check(rc == 0 and all(summaries[s].get("image") == img and summaries[s].get("stem") == s
                              and summaries[s].get("same_stem_as") == same
                              for s, (img, same) in want.items()),
              "same stems: each JSON names its image and namesake (%s)" % os.path.basename(out_dir),
              "exit %d: %s %s" % (rc, err.strip(), {s: (j.get("image"), j.get("same_stem_as"))
                                                     for s, j in summaries.items()}))
        listed = [f for j in summaries.values() for f in j.get("files", [])]
        on_disk = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
        check(listed and sorted(listed) == on_disk and len(set(listed)) == len(listed) and
              all(f.startswith(s + ".") for s, j in summaries.items() for f in j["files"]),
              "same stems: the JSONs list exactly the files on disk",
              "%d listed, %d on disk" % (len(listed), len(on_disk)))
    alone = env.out("stem-alone")
    rc, _, err = env.tool("explain", "--model", env.model, "--out", alone, inputs[1])
    renamed = os.path.join(dirs[0], "cat-3.logits.npy")
    check(rc == 0 and os.path.exists(renamed) and
          np.array_equal(np.load(renamed), np.load(os.path.join(alone, "cat.logits.npy"))) and
          not np.array_equal(np.load(renamed), np.load(os.path.join(dirs[0], "cat.logits.npy"))),
          "same stems: b/cat.png's outputs are b/cat.png's", err.strip())

    # --input-npy X/cat.npy beside an image cat.png: the array keeps "cat"
    npy = os.path.join(env.tmp, "npy", "cat.npy")
    os.makedirs(os.path.dirname(npy), exist_ok=True)
    np.save(npy, env.rng.standard_normal((2, 3, 64, 64)).astype(np.float32))
    out_dir = env.out("npy")
    rc, out, err = env.tool("explain", "--model", env.model, "--out", out_dir, "--input-npy", npy,
                            inputs[0])
    j = json_of(out_dir, "cat-2")
    check(rc == 0 and np.load(os.path.join(out_dir, "cat.logits.npy")).shape == (2, 10) and
          j.get("image") == inputs[0] and j.get("same_stem_as") == npy and
          not os.path.exists(os.path.join(out_dir, "cat.json")),
          "--input-npy cat.npy and cat.png: named apart", "exit %d: %s" % (rc, err.strip()))


def test_method_list(env):
    """An empty or repeated --method entry is a usage error, before anything
    is written; a good list still works."""
    for value, phrase in [("gradcam,gradcam", "names gradcam twice"),
                          ("layercam,gradcam,layercam", "names layercam twice"),
                          ("gradcam,,layercam", "empty entry"), ("", "empty entry"),
                          ("gradcam,", "empty entry"), (",gradcam", "empty entry")]:
        out_dir = env.out("method")
        rc, out, err = env.tool("explain", "--model", env.model, "--out", out_dir,
                                "--method", value, env.photo)
        check(rc == USAGE and phrase in err and not out and not os.path.exists(out_dir),
              "--method '%s' refused" % value, "exit %d: %s" % (rc, err.strip()))
    out_dir = env.out("method-ok")
    rc, out, err = env.tool("explain", "--model", env.model, "--out", out_dir,
                            "--method", "gradcam,layercam", env.photo)
    check(rc == 0 and os.path.exists(os.path.join(out_dir, "photo.layercam.cam.npy")),
          "--method gradcam,layercam still works", err.strip())


def test_guided_names(env):
    """The guided methods write what explain --help says: STEM.METHOD.npy
    [1,3,H,W] and STEM.METHOD.png, and no figure or overlay."""
    out_dir = env.out("guided")
    rc, out, err = env.tool("explain", "--model", env.model, "--out", out_dir,
                            "--method", "guidedbackprop,guidedgradcam", env.photo)
    files = sorted(os.listdir(out_dir)) if rc == 0 else []
    want = sorted(["photo.%s.%s" % (m, e) for m in ("guidedbackprop", "guidedgradcam")
                   for e in ("npy", "png")] + ["photo.logits.npy", "photo.methods.png",
                                               "photo.json"])
    _, help_text, _ = env.tool("explain", "--help")
    shape = np.load(os.path.join(out_dir, "photo.guidedbackprop.npy")).shape if files else None
    check(files == want and shape == (1, 3, 224, 224) and "STEM.METHOD.npy" in help_text and
          "STEM.METHOD.png" in help_text and json_of(out_dir, "photo").get("files") and
          sorted(json_of(out_dir, "photo")["files"]) == want,
          "guided methods' files are what --help says", "%s, %s" % (files, shape))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    gradcam, source = os.path.abspath(a.gradcam), os.path.abspath(a.source)
    tmp = tempfile.mkdtemp(prefix="gc_cli_strict_")
    cwd = os.getcwd()
    try:
        os.chdir(tmp)  # so a stray "--bogus" output directory would land here
        env = Env(gradcam, source, tmp)
        for test in (test_foreign_options, test_documented_options_accepted,
                     test_unknown_anywhere, test_usage, test_directory_input, test_same_stem,
                     test_method_list, test_guided_names):
            test(env)
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
