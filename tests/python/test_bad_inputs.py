#!/usr/bin/python3
"""test_bad_inputs.py — the table of bad and hostile inputs, run through the
gradcam command line.

Each row is one crafted input, the command that meets it, the exit code the
README documents (0 ok, 1 bad input, 2 usage, 3 internal) and the key phrase
the one-line message must contain. Every input is made here at run time in
a scratch directory, mostly from a width-1 torchvision-named ResNet that
PyTorch itself saves; the few committed hostile checkpoints come from
tests/fixtures/pth (see make_pth_fixtures.py). Beyond the row's own check,
every run must print exactly one line on stderr and no sanitizer report.

Malicious pickles (os.system, builtins.eval, torch.load) carry a payload
that would create a marker file. Each payload is first shown to be live —
Python's own pickle.loads, in a child process, does create the marker —
and then gradcam must reject the file with the marker still absent.

Deliberately not here: the parsers' own unit tests, and exit code 3, which
no input can reach without a bug.

Usage: /usr/bin/python3 test_bad_inputs.py --gradcam BIN --source DIR
"""
import argparse
import io
import os
import pickletools
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
import torch

from tiny_resnet import tiny_resnet

OK, BAD_INPUT, USAGE = 0, 1, 2


# ---- hand-made pickles (never unpickled by this process) ------------------

def op_str(s):
    e = s.encode()
    return b"X" + struct.pack("<I", len(e)) + e


def op_global(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def call(mod, name, *str_args):
    """GLOBAL mod.name, MARK, args..., TUPLE, REDUCE: calls mod.name(*args)."""
    return op_global(mod, name) + b"(" + b"".join(op_str(a) for a in str_args) + b"tR"


def pickle_of(body):
    return b"\x80\x02" + body + b"."


def zip_checkpoint(path, pkl):
    """torch's zip layout: archive/data.pkl, archive/version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", b"3\n")


def legacy_checkpoint(path, obj_pkl):
    """torch's legacy layout: magic, protocol, sys_info, object, storage keys."""
    magic = pickle_of(b"\x8a\x0a" + (0x1950a86a20f9469cfc6c).to_bytes(10, "little"))
    proto = pickle_of(b"M" + struct.pack("<H", 1001))
    info = pickle_of(b"}(" + op_str("protocol_version") + b"M" + struct.pack("<H", 1001) +
                     op_str("little_endian") + b"\x88" + b"u")
    keys = pickle_of(b"]")
    with open(path, "wb") as f:
        f.write(magic + proto + info + obj_pkl + keys)


# ---- the table -------------------------------------------------------------

class Table:
    def __init__(self, gradcam, tmp):
        self.gradcam, self.tmp = gradcam, tmp
        self.passed = self.failed = 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def run(self, name, args, want_rc, want_msg, check=None):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
                   GRADCAM_CACHE=self.path("cache"), GRADCAM_DOWNLOAD_URL="http://127.0.0.1:9")
        p = subprocess.run([self.gradcam] + args, capture_output=True, text=True, env=env,
                           cwd=self.tmp, timeout=120, errors="replace")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        problems = []
        if p.returncode != want_rc:
            problems.append("exit %d, expected %d" % (p.returncode, want_rc))
        if want_msg is not None and want_msg not in p.stderr:
            problems.append("message lacks %r" % want_msg)
        if want_rc != OK and len(lines) != 1:
            problems.append("%d lines on stderr, expected 1" % len(lines))
        if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
            problems.append("sanitizer report")
        if check:
            problems += check()
        if problems:
            self.failed += 1
            print("FAIL %-34s %s\n     stderr: %s" % (name, "; ".join(problems),
                                                     p.stderr.strip()[:600]))
        else:
            self.passed += 1
            print("ok   %-34s %s" % (name, lines[0][:110] if lines else "(no message)"))


def live(payload_file, marker, tmp):
    """Whether Python's own unpickler, run on payload_file in a child, creates
    marker: proves the payload is a real one."""
    code = ("import pickle, sys\n"
            "try:\n pickle.loads(open(sys.argv[1], 'rb').read())\n"
            "except Exception:\n pass\n")
    subprocess.run([sys.executable, "-c", code, payload_file], cwd=tmp, timeout=120,
                   capture_output=True)
    made = os.path.exists(marker)
    if made:
        os.remove(marker)
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    gradcam = os.path.abspath(a.gradcam)
    fix = os.path.join(os.path.abspath(a.source), "tests", "fixtures")
    tmp = tempfile.mkdtemp(prefix="gc_bad_inputs.")
    t = Table(gradcam, tmp)
    P = t.path
    root = os.geteuid() == 0

    # -- shared inputs
    sd = tiny_resnet(3, 0.2, 0.3, bn_gain=0.5, batches=5)
    torch.save(sd, P("good.pth"))
    torch.save(sd, P("good_legacy.pth"), _use_new_zipfile_serialization=False)
    img = (np.indices((40, 56)).sum(0) % 256).astype(np.uint8)
    from PIL import Image
    Image.fromarray(np.stack([img, img[::-1], 255 - img], -1)).save(P("photo.png"))
    np.save(P("x.npy"), np.zeros((1, 3, 32, 32), np.float32))
    with open(P("a_file"), "w") as f:
        f.write("a regular file\n")
    good, photo = P("good.pth"), P("photo.png")

    # -- the model files everything else builds on really work
    t.run("good model, explain", ["explain", "--model", good, "--out", P("out"), photo], OK,
          None, lambda: [] if os.path.exists(P("out/photo.gradcam.cam.npy")) else ["no map written"])
    t.run("good legacy model, predict", ["predict", "--model", P("good_legacy.pth"), photo],
          OK, None)

    # -- wrong magic / not what it claims
    with open(P("random.pth"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    t.run("pth: wrong magic", ["layers", "--model", P("random.pth")], BAD_INPUT,
          "not a PyTorch checkpoint")
    with open(P("plain.pth"), "wb") as f:
        f.write(pickle_of(b"K\x07"))
    t.run("pth: a pickle without torch magic", ["layers", "--model", P("plain.pth")], BAD_INPUT,
          "not a torch.save checkpoint (no magic number)")
    t.run("npy: wrong magic", ["explain", "--model", good, "--input-npy", P("photo.png")],
          BAD_INPUT, "not a .npy file")
    t.run("image: wrong magic", ["predict", "--model", good, P("a_file")], BAD_INPUT,
          "not a JPEG or PNG file")

    # -- truncated zip checkpoint at each section boundary
    data = open(good, "rb").read()
    with zipfile.ZipFile(good) as z:
        infos = z.infolist()
    pkl = next(i for i in infos if i.filename.endswith("data.pkl"))
    stor = next(i for i in infos if "/data/" in i.filename)
    cd_start = data.find(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    cuts = {
        "zip magic only": 4,
        "zip inside first local header": 20,
        "zip mid data.pkl": pkl.header_offset + 30 + len(pkl.filename) + pkl.file_size // 2,
        "zip at a storage entry": stor.header_offset,
        "zip at central directory": cd_start,
        "zip inside end record": eocd + 10,
    }
    # Every cut loses the central directory at the end, so libzip refuses
    # them all the same way before anything is parsed.
    for what, n in cuts.items():
        with open(P("cut.pth"), "wb") as f:
            f.write(data[:n])
        t.run("truncated: " + what, ["layers", "--model", P("cut.pth")], BAD_INPUT,
              "cut.pth: not a valid zip archive")
    # A zip whose central directory survives but an entry's data is gone:
    # the end of data.pkl overwritten with zeros (torch's zips are stored).
    # Its CRC no longer matches, so it is refused before it is unpickled.
    body = pkl.header_offset + 30 + len(pkl.filename) + len(pkl.extra)
    bad = bytearray(data)
    bad[body + pkl.file_size - 8: body + pkl.file_size] = bytes(8)
    with open(P("damaged.pth"), "wb") as f:
        f.write(bytes(bad))
    t.run("zip: data.pkl damaged", ["layers", "--model", P("damaged.pth")], BAD_INPUT,
          "cannot read 'data.pkl' from the zip archive: CRC error")

    # -- truncated legacy checkpoint at each pickle / section boundary
    ldata = open(P("good_legacy.pth"), "rb").read()
    ends, pos = [], 0
    for _ in range(5):  # magic, protocol, sys_info, object, storage keys
        # pickletools walks the opcodes without executing anything
        for op, arg, p in pickletools.genops(io.BytesIO(ldata[pos:])):
            if op.name == "STOP":
                pos += p + 1
                break
        ends.append(pos)
    lcuts = [
        ("legacy after magic", ends[0], "truncated pickle at byte %d" % ends[0]),
        ("legacy after protocol", ends[1], "truncated pickle at byte %d" % ends[1]),
        ("legacy after sys_info", ends[2], "truncated pickle at byte %d" % ends[2]),
        ("legacy mid object pickle", (ends[2] + ends[3]) // 2, "truncated pickle at byte"),
        ("legacy after object pickle", ends[3], "truncated pickle at byte %d" % ends[3]),
        ("legacy after storage keys", ends[4], "truncated storage"),
        ("legacy mid storage count", ends[4] + 4, "truncated storage"),
        # 2 bytes into the first storage's data (every storage holds >= 4)
        ("legacy mid storage data", ends[4] + 8 + 2, "but the file holds only 2 bytes for it"),
    ]
    for what, n, phrase in lcuts:
        with open(P("lcut.pth"), "wb") as f:
            f.write(ldata[:n])
        t.run("truncated: " + what, ["layers", "--model", P("lcut.pth")], BAD_INPUT, phrase)

    # -- forbidden globals, with proof that nothing ran
    marker = P("PWNED")
    payloads = {
        "os.system": call("os", "system", "touch " + marker),
        "builtins.eval": call("builtins", "eval", "open(%r, 'w').close()" % marker),
        "posix.system": call("posix", "system", "touch " + marker),
    }
    # torch.load on a second file that is itself an os.system pickle: the
    # attack on torch.load without weights_only.
    with open(P("inner.pkl"), "wb") as f:
        f.write(pickle_of(payloads["os.system"]))
    payloads["torch.load"] = call("torch", "load", P("inner.pkl"))
    for name, body in payloads.items():
        raw = pickle_of(body)
        with open(P("payload.pkl"), "wb") as f:
            f.write(raw)
        is_live = live(P("payload.pkl"), marker, tmp)
        for fmt in ("zip", "legacy"):
            fn = P("evil_%s_%s.pth" % (name.replace(".", "_"), fmt))
            (zip_checkpoint if fmt == "zip" else legacy_checkpoint)(fn, raw)
            t.run("forbidden %s (%s)" % (name, fmt),
                  ["explain", "--model", fn, "--out", P("out"), photo], BAD_INPUT,
                  "forbidden global '%s'" % name,
                  lambda: ([] if is_live else ["payload is not live (pickle.loads made no marker)"]) +
                          (["MARKER EXISTS: the payload ran"] if os.path.exists(marker) else []))

    # -- the attacks that broke torch's own safe loader (committed fixtures)
    pth = os.path.join(fix, "pth")
    t.run("SETITEM on a list", ["layers", "--model", os.path.join(pth, "setitem_on_list.pth")],
          BAD_INPUT, "sets items on a list")
    t.run("SETITEMS on a list", ["layers", "--model", os.path.join(pth, "setitems_on_list.pth")],
          BAD_INPUT, "sets items on a list")
    t.run("storage numel > bytes", ["layers", "--model",
                                    os.path.join(pth, "storage_numel_too_big.pth")],
          BAD_INPUT, "declares 1000 elements of 4 bytes, but the file holds only 48 bytes")
    t.run("storage numel > bytes (legacy)",
          ["layers", "--model", os.path.join(pth, "storage_numel_too_big_legacy.pth")],
          BAD_INPUT, "declares 1000 elements of 4 bytes, but the file holds only 48 bytes")
    t.run("tensor past its storage", ["layers", "--model",
                                      os.path.join(pth, "tensor_past_storage.pth")],
          BAD_INPUT, "reaches past its storage")
    t.run("tensor size overflow", ["layers", "--model",
                                   os.path.join(pth, "tensor_size_overflow.pth")],
          BAD_INPUT, "tensor_size_overflow.pth:")

    # -- state_dict content: missing key, wrong shape, not a ResNet
    d = dict(sd)
    del d["layer2.0.bn1.running_var"]
    torch.save(d, P("missing.pth"))
    t.run("missing key", ["layers", "--model", P("missing.pth")], BAD_INPUT,
          "missing key 'layer2.0.bn1.running_var'")
    d = dict(sd)
    d["fc.weight"] = torch.zeros(3, 5)
    torch.save(d, P("wrong_shape.pth"))
    t.run("wrong shape", ["layers", "--model", P("wrong_shape.pth")], BAD_INPUT,
          "'fc.weight' has shape [3x5], expected [?x8]")
    d = dict(sd)
    d["layer3.0.conv2.weight"] = torch.zeros(4, 3, 3, 3)
    torch.save(d, P("wrong_channels.pth"))
    t.run("conv that does not fit its input", ["layers", "--model", P("wrong_channels.pth")],
          BAD_INPUT, "layer3.0.conv2.weight")
    torch.save({"weight": torch.zeros(2)}, P("not_resnet.pth"))
    t.run("not a ResNet", ["layers", "--model", P("not_resnet.pth")], BAD_INPUT,
          "not a torchvision ResNet state_dict")

    # -- what the user asks for
    t.run("unknown layer (closest names)", ["explain", "--model", good, "--layer", "layer4.1",
                                            "--out", P("out"), photo], USAGE,
          "no layer named 'layer4.1'; closest: 'layer4.0'")
    t.run("class index out of range", ["explain", "--model", good, "--class", "3",
                                       "--out", P("out"), photo], USAGE,
          "class 3 is out of range (the model has 3 classes: 0-2)")
    t.run("class name unknown", ["explain", "--model", good, "--class", "zebra",
                                 "--out", P("out"), photo], USAGE, "no class named 'zebra'")
    t.run("unknown method", ["explain", "--model", good, "--method", "bogus", photo], USAGE,
          "unknown method 'bogus'")
    t.run("unknown option", ["explain", "--model", good, "--bogus", photo], USAGE,
          "unknown option '--bogus'")
    t.run("unknown command", ["frobnicate"], USAGE, "unknown command 'frobnicate'")
    t.run("option without its value", ["predict", photo, "--model"], USAGE,
          "--model needs a value")
    t.run("no model", ["predict", photo], USAGE, "no model given")
    t.run("no input", ["explain", "--model", good], USAGE, "no input given")
    t.run("bad --top", ["predict", "--model", good, "--top", "x", photo], USAGE,
          "--top needs a positive number")

    # -- files that are not what they should be
    open(P("empty.pth"), "wb").close()
    open(P("empty.png"), "wb").close()
    t.run("empty model file", ["layers", "--model", P("empty.pth")], BAD_INPUT,
          "empty file (0 bytes)")
    t.run("empty image file", ["predict", "--model", good, P("empty.png")], BAD_INPUT,
          "not a JPEG or PNG file")
    t.run("directory as model", ["layers", "--model", tmp], BAD_INPUT, "is a directory")
    t.run("directory as image", ["predict", "--model", good, tmp], BAD_INPUT, tmp + ":")
    t.run("missing model file", ["layers", "--model", P("nope.pth")], BAD_INPUT,
          "nope.pth: cannot open: No such file or directory")
    t.run("missing image file", ["predict", "--model", good, P("nope.png")], BAD_INPUT,
          "cannot open: No such file or directory")
    with open(P("text.png"), "w") as f:
        f.write("this is not an image\n" * 10)
    t.run("image that is not an image", ["predict", "--model", good, P("text.png")], BAD_INPUT,
          "not a JPEG or PNG file")
    png = open(photo, "rb").read()
    with open(P("cut.png"), "wb") as f:
        f.write(png[:len(png) // 2])
    t.run("truncated PNG", ["predict", "--model", good, P("cut.png")], BAD_INPUT,
          "corrupt PNG")

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    with open(P("bomb.png"), "wb") as f:
        f.write(bomb)
    t.run("decompression bomb (30000^2 PNG)", ["predict", "--model", good, P("bomb.png")],
          BAD_INPUT, "above the limit of 100000000 pixels")

    # -- configurable limits (the photo is 56x40 = 2240 pixels; the model's
    # float32 weights are far more than 1 KiB)
    t.run("--max-pixels below the photo", ["predict", "--model", good, "--max-pixels", "2239",
                                           photo], BAD_INPUT,
          "gradcam: %s: image is 56x40, above the limit of 2239 pixels; raise it with "
          "--max-pixels\n" % photo)
    t.run("--max-pixels at the photo", ["predict", "--model", good, "--max-pixels=2240", photo],
          OK, None)
    t.run("--max-weights 1K", ["layers", "--model", good, "--max-weights", "1K"], BAD_INPUT,
          "gradcam: %s: tensors total more than 1024 bytes as float32 (the weight limit); "
          "raise it with --max-weights\n" % good)
    torch.save({"w": torch.zeros(1000)[:1]}, P("view.pth"))  # saves all 4000 storage bytes
    t.run("--max-weights: storage beyond a view", ["layers", "--model", P("view.pth"),
                                                   "--max-weights", "1K"], BAD_INPUT,
          "storages total more than 2048 bytes (twice the weight limit)")
    for opt, value in [("--max-pixels", "0"), ("--max-pixels", "-5"), ("--max-weights", "abc"),
                       ("--max-weights", "1T"), ("--max-weights", "9000000000G"),
                       ("--max-nodes", "99999999999999999999"), ("--max-nodes", "")]:
        t.run("%s %r" % (opt, value), ["explain", "--model", good, opt, value, photo], USAGE,
              "%s needs a positive number" % opt)

    # -- permissions. As root every file is readable, so a permission test
    # would pass for the wrong reason; then the same code path (open fails)
    # is met with a path whose parent is a regular file instead.
    if not root:
        shutil.copy(good, P("secret.pth"))
        os.chmod(P("secret.pth"), 0)
        t.run("model without read permission", ["layers", "--model", P("secret.pth")],
              BAD_INPUT, "cannot open: Permission denied")
        os.mkdir(P("readonly"))
        os.chmod(P("readonly"), 0o500)
        t.run("output dir without write permission",
              ["explain", "--model", good, "--out", P("readonly"), photo], BAD_INPUT,
              "is not a writable directory")
    else:
        t.run("model under a regular file (root)", ["layers", "--model", P("a_file/x.pth")],
              BAD_INPUT, "cannot open: Not a directory")
    t.run("output dir under a regular file", ["explain", "--model", good, "--out",
                                              P("a_file/out"), photo], BAD_INPUT,
          "cannot create output directory")
    t.run("output dir is a regular file", ["explain", "--model", good, "--out", P("a_file"),
                                           photo], BAD_INPUT, "is not a writable directory")

    # -- .npy batches
    np.save(P("x3d.npy"), np.zeros((3, 32, 32), np.float32))
    t.run("npy: 3-d instead of [N,3,H,W]", ["explain", "--model", good, "--input-npy",
                                           P("x3d.npy")], BAD_INPUT,
          "expected a float32 array [N,3,H,W]")
    np.save(P("x4c.npy"), np.zeros((1, 4, 32, 32), np.float32))
    t.run("npy: 4 channels", ["explain", "--model", good, "--input-npy", P("x4c.npy")],
          BAD_INPUT, "expected a float32 array [N,3,H,W]")
    raw = open(P("x.npy"), "rb").read()
    with open(P("xshort.npy"), "wb") as f:
        f.write(raw[:-4])
    t.run("npy: data shorter than shape", ["explain", "--model", good, "--input-npy",
                                          P("xshort.npy")], BAD_INPUT,
          "shape does not match the file size")
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 3, 64, 64), }"
    hdr += b" " * (63 - (10 + len(hdr)) % 64) + b"\n"
    with open(P("xhuge.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + bytes(64))
    t.run("npy: shape far beyond the file", ["explain", "--model", good, "--input-npy",
                                            P("xhuge.npy")], BAD_INPUT,
          "shape does not match the file size")
    np.save(P("xi8.npy"), np.zeros((1, 3, 8, 8), np.int64))
    t.run("npy: unsupported dtype", ["explain", "--model", good, "--input-npy", P("xi8.npy")],
          BAD_INPUT, "dtype '<i8' not supported")

    # -- the description beside the model
    shutil.copy(good, P("described.pth"))
    for what, text, phrase in [
        ("not JSON", "{classes: [", "not valid JSON"),
        ("unknown default_layer", '{"default_layer": "layer9"}',
         "\"default_layer\": no layer named 'layer9'"),
        ("class count mismatch", '{"classes": ["a", "b"]}', "\"classes\" must list 3 names"),
        ("non-positive std", '{"std": [0.2, 0, 0.2]}', "\"std\"[1] must be a positive number"),
    ]:
        with open(P("described.json"), "w") as f:
            f.write(text)
        t.run("description: " + what, ["layers", "--model", P("described.pth")], BAD_INPUT,
              phrase)

    print("%d passed, %d failed" % (t.passed, t.failed))
    if t.failed == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("inputs kept in", tmp)
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    main()
