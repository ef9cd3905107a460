#!/usr/bin/python3
"""Writes the committed .pth loader fixtures under tests/fixtures/pth/.

What it is: the one place those files come from. Good checkpoints are made
by torch.save (both formats); their expected values are dumped by PyTorch
into <name>.expected (text: "count", then per tensor a line
"name ndim d0 d1 ..." and a line of float32 values printed with %.9g), so
tests/unit/test_pth.c compares the C loader against PyTorch, not itself.

Hostile checkpoints are assembled here opcode by opcode from raw bytes and
are NEVER unpickled (no torch.load, no pickle.loads on them). Each one is a
copy of a hand-assembled good checkpoint ("handmade_ok") with one thing
changed; handmade_ok itself is checked with torch.load so the assembler is
known to be right.

Seeded; re-run after changing it and commit the result (every file is a few
KB). Deliberately does not run the C code.

Usage: /usr/bin/python3 make_pth_fixtures.py [OUTDIR]
"""
import collections
import os
import random
import shutil
import struct
import sys
import tempfile
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "pth")

# Where the os.system payload would leave its mark if anything executed it.
PWNED_MARKER = "/tmp/gc_pth_pwned_marker"


def path(name):
    return os.path.join(OUT, name)


def write_expected(name, sd):
    """Dumps what PyTorch itself reads back: names (module. stripped), shapes,
    values as float32."""
    with open(path(name + ".expected"), "w") as f:
        f.write("%d\n" % len(sd))
        for k, t in sd.items():
            k = k[len("module."):] if k.startswith("module.") else k
            v = t.detach().to(torch.float32).contiguous().reshape(-1).tolist()
            f.write("%s %d %s\n" % (k, t.dim(), " ".join(str(d) for d in t.shape)))
            f.write(" ".join("%.9g" % x for x in v) + "\n")


def tiny_state_dict():
    """A real module's state_dict (OrderedDict with _metadata) plus tensors of
    every storage type, a transposed view and two views of one storage."""
    torch.manual_seed(1234)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        model[1].running_mean.normal_()
        model[1].running_var.uniform_(0.5, 2.0)
        model[1].num_batches_tracked.fill_(7)
    sd = model.state_dict()
    sd["f64"] = torch.randn(3, 2, dtype=torch.float64)
    sd["f16"] = torch.randn(5).half()
    sd["f16_special"] = torch.tensor([6e-8, -1e-5, 65504.0, float("inf"), 0.0, -0.0]).half()
    sd["bf16"] = torch.randn(4).bfloat16()
    sd["i64"] = torch.tensor([-3, 0, 1 << 40], dtype=torch.int64)
    sd["i32"] = torch.tensor([[-7, 8]], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["flags"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["transposed"] = torch.randn(3, 5).t()  # non-contiguous, stride (1, 5)
    sd["expanded"] = torch.randn(3, 1).expand(3, 4)  # stride (1, 0)
    base = torch.randn(24)
    sd["shared_a"] = base[2:8].view(2, 3)     # offset 2 into base's storage
    sd["shared_b"] = base[10:20:2]            # offset 10, stride 2
    sd["shared_c"] = base.view(2, 3, 4).permute(2, 0, 1)[1:3, :, 1:]  # 3-d strided
    assert not sd["transposed"].is_contiguous()
    assert sd["shared_a"].storage().data_ptr() == sd["shared_b"].storage().data_ptr()
    return sd


def save_zip(obj, name, **kw):
    torch.save(obj, path(name), **kw)


def save_legacy(obj, name, **kw):
    torch.save(obj, path(name), _use_new_zipfile_serialization=False, **kw)


# ---- a hand assembler for the pickles torch writes -----------------------

def op_int(i):
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    if -(1 << 31) <= i < (1 << 31):
        return b"J" + struct.pack("<i", i)
    raw = i.to_bytes(8, "little", signed=True)
    return b"\x8a\x08" + raw


def op_str(s):
    e = s.encode()
    return b"X" + struct.pack("<I", len(e)) + e


def op_global(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def op_tuple(items):
    return b"(" + b"".join(items) + b"t"


def op_tensor(key, stype, numel, offset, size, stride, persid_len=5):
    pid = [op_str("storage"), op_global("torch", stype), op_str(key), op_str("cpu"), op_int(numel)]
    if persid_len == 6:
        pid.append(b"N")
    return (op_global("torch._utils", "_rebuild_tensor_v2") + b"(" + op_tuple(pid) + b"Q" +
            op_int(offset) + op_tuple([op_int(x) for x in size]) +
            op_tuple([op_int(x) for x in stride]) + b"\x89" +
            op_global("collections", "OrderedDict") + b")R" + b"tR")


def op_dict(items):
    return b"}(" + b"".join(op_str(k) + v for k, v in items) + b"u"


def pickle_bytes(body):
    return b"\x80\x02" + body + b"."


def write_zip(name, pkl, storages, folder="archive"):
    def entry(name):  # fixed timestamps: re-running gives the same bytes
        return zipfile.ZipInfo(folder + "/" + name, date_time=(1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
        z.writestr(entry("data.pkl"), pkl)
        for key, data in storages.items():
            z.writestr(entry("data/" + key), data)
        z.writestr(entry("version"), b"3\n")


LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def write_legacy(name, main_pkl, storages, counts=None):
    """storages: key -> (raw bytes); counts overrides the int64 headers."""
    magic = pickle_bytes(b"\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little"))
    proto = pickle_bytes(op_int(1001))
    info = pickle_bytes(op_dict([("protocol_version", op_int(1001)), ("little_endian", b"\x88"),
                                 ("type_sizes", op_dict([("short", op_int(2)), ("int", op_int(4)),
                                                         ("long", op_int(8))]))]))
    keys = pickle_bytes(b"](" + b"".join(op_str(k) for k in storages) + b"e")
    data = b""
    for key, raw in storages.items():
        count = (counts or {}).get(key, len(raw) // 4)
        data += struct.pack("<q", count) + raw
    with open(path(name), "wb") as f:
        f.write(magic + proto + info + main_pkl + keys + data)


def floats(n, seed):
    rnd = random.Random(seed)
    return [rnd.uniform(-1, 1) for _ in range(n)]


def handmade():
    """A good checkpoint written by the assembler: w (2x3), b (3) sharing a
    12-float storage, checked by torch.load."""
    vals = floats(12, 7)
    raw = struct.pack("<12f", *vals)
    body = op_dict([("w", op_tensor("0", "FloatStorage", 12, 0, (2, 3), (3, 1))),
                    ("b", op_tensor("0", "FloatStorage", 12, 9, (3,), (1,)))])
    write_zip("handmade_ok.pth", pickle_bytes(body), {"0": raw})
    write_legacy("handmade_ok_legacy.pth",
                 pickle_bytes(op_dict([("w", op_tensor("k0", "FloatStorage", 12, 0, (2, 3), (3, 1), 6)),
                                       ("b", op_tensor("k0", "FloatStorage", 12, 9, (3,), (1,), 6))])),
                 {"k0": raw})
    for name in ("handmade_ok.pth", "handmade_ok_legacy.pth"):
        sd = torch.load(path(name))  # our own bytes, known to be benign
        assert sd["w"].flatten().tolist() == torch.tensor(vals[:6]).tolist()
        assert sd["b"].tolist() == torch.tensor(vals[9:12]).tolist()
    write_expected("handmade_ok", sd)
    return raw


def hostile(raw):
    """Each file differs from handmade_ok in one hostile way. Never loaded."""
    ok_tensor = op_tensor("0", "FloatStorage", 12, 0, (2, 3), (3, 1))
    # code execution through REDUCE on forbidden callables
    system = op_global("os", "system") + op_tuple([op_str("touch " + PWNED_MARKER)]) + b"R"
    write_zip("evil_os_system.pth", pickle_bytes(op_dict([("w", system)])), {"0": raw})
    evil_eval = op_global("builtins", "eval") + op_tuple([op_str("__import__('os').system('touch %s')" % PWNED_MARKER)]) + b"R"
    write_legacy("evil_eval_legacy.pth", pickle_bytes(op_dict([("w", evil_eval)])), {})
    torch_load = op_global("torch", "load") + op_tuple([op_str("/etc/passwd")]) + b"R"
    write_zip("evil_torch_load.pth", pickle_bytes(op_dict([("w", torch_load)])), {"0": raw})
    # the same through protocol 4's STACK_GLOBAL
    sg = (b"\x8c\x02os\x94\x8c\x06system\x94\x93\x94" + op_tuple([op_str("touch " + PWNED_MARKER)]) + b"R")
    write_zip("evil_stack_global.pth", b"\x80\x04" + op_dict([("w", sg)]) + b".", {"0": raw})
    # CVE-2026-24747: SETITEM(S) on a list, then a tensor in it
    write_zip("setitems_on_list.pth",
              pickle_bytes(b"](" + op_str("w") + ok_tensor + b"u"), {"0": raw})
    write_zip("setitem_on_list.pth",
              pickle_bytes(b"]" + op_str("w") + ok_tensor + b"s"), {"0": raw})
    # storage declares more elements than the archive holds
    big = op_dict([("w", op_tensor("0", "FloatStorage", 1000, 0, (2, 3), (3, 1)))])
    write_zip("storage_numel_too_big.pth", pickle_bytes(big), {"0": raw})
    write_legacy("storage_numel_too_big_legacy.pth",
                 pickle_bytes(op_dict([("w", op_tensor("k0", "FloatStorage", 1000, 0, (2, 3), (3, 1), 6))])),
                 {"k0": raw}, counts={"k0": 1000})
    # tensor view reaching past its storage
    past = op_dict([("fc.weight", op_tensor("0", "FloatStorage", 1000, 10, (2048,), (1,)))])
    write_zip("tensor_past_storage.pth", pickle_bytes(past), {"0": b"\0" * 4000})
    huge = op_dict([("w", op_tensor("0", "FloatStorage", 12, 0, (1 << 62, 1 << 62), (1, 1)))])
    write_zip("tensor_size_overflow.pth", pickle_bytes(huge), {"0": raw})
    # a stride-0 view (what expand() makes) of 12 floats claiming 8 GiB
    expand = op_dict([("w", op_tensor("0", "FloatStorage", 12, 0, (1 << 31,), (0,)))])
    write_zip("tensor_expanded_huge.pth", pickle_bytes(expand), {"0": raw})
    # BINGET of a memo slot never written
    write_zip("memo_undefined.pth", pickle_bytes(b"}(" + op_str("w") + b"h\x07u"), {"0": raw})
    # not a checkpoint at all
    rnd = random.Random(99)
    with open(path("random.bin"), "wb") as f:
        f.write(bytes([0x42]) + bytes(rnd.randrange(256) for _ in range(4095)))
    with open(path("empty.pth"), "wb"):
        pass
    with open(path("plain_pickle.pth"), "wb") as f:
        f.write(pickle_bytes(op_dict([("a", op_int(1))])))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(path(f))

    sd = tiny_state_dict()
    save_zip(sd, "tiny.pth")
    save_legacy(sd, "tiny_legacy.pth")
    save_zip(sd, "tiny_p4.pth", pickle_protocol=4)  # FRAME, MEMOIZE, STACK_GLOBAL
    write_expected("tiny", sd)

    # renamed file: the zip folder no longer matches the file name
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(sd, os.path.join(tmp, "original_name.pth"))
        shutil.copy(os.path.join(tmp, "original_name.pth"), path("renamed.pth"))

    # a training checkpoint around a DataParallel state_dict
    torch.manual_seed(5)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    wrapped = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
    ckpt = {"epoch": 3, "arch": "linear", "best_acc": 0.875, "state_dict": wrapped,
            "optimizer": opt.state_dict(), "extra": {"nested": {"n": 1}}, "tags": [1, 2.5, "x"]}
    save_zip(ckpt, "checkpoint.pth")
    save_legacy({"model": wrapped, "epoch": 9}, "checkpoint_model_legacy.pth")
    write_expected("checkpoint", wrapped)

    # nn.Parameter values (torch._utils._rebuild_parameter)
    params = collections.OrderedDict(net.named_parameters())
    save_zip(params, "parameters.pth")
    write_expected("parameters", params)

    # well-formed but not ours
    torch.save(net, path("whole_module.pth"))
    torch.jit.save(torch.jit.script(net), path("torchscript.pt"))
    save_zip([torch.ones(2)], "list_of_tensors.pth")

    raw = handmade()
    hostile(raw)
    for f in sorted(os.listdir(OUT)):
        size = os.path.getsize(path(f))
        assert size < 200 * 1024, f
        print("%-40s %7d" % (f, size))


if __name__ == "__main__":
    main()
