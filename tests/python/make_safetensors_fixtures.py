#!/usr/bin/python3
"""Writes the safetensors fixtures (tests/fixtures/safetensors/) and seeds
(fuzz/corpus/safetensors/), and converts a .pth to .safetensors for the CLI
test.

What it is: a writer of the safetensors format done by hand (the Python
`safetensors` package is not in Debian): u64 little-endian header length,
a JSON object {name: {dtype, shape, data_offsets}}, padded with spaces to a
multiple of 8, then the raw little-endian bytes. Valid files come from
torch tensors (bit-identical to the .pth they were read from); expected
float32 values for the dtype fixture come from numpy's own conversion. The
hostile files are hand-made byte strings, one defect each.

What it deliberately does not do: decide whether our loader is right (the
unit and CLI tests do), or write anything but little-endian files.

Usage: make_safetensors_fixtures.py                 (rewrite the fixtures)
       make_safetensors_fixtures.py --convert IN.pth OUT.safetensors
"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "safetensors")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "safetensors")

NP_DTYPE = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4",
            "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
TORCH_DTYPE = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
               torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
               torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def pack(entries, metadata=None, raw_header=None):
    """entries: list of (name, dtype, shape, bytes), laid out in order.
    raw_header (str) replaces the JSON when a test needs a broken one."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, blob in entries:
        header[name] = {"dtype": dt, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    h = h.encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tensor_bytes(t):
    """A torch tensor's bytes, little-endian C order, exactly as stored."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the bits
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(NP_DTYPE[TORCH_DTYPE[t.dtype]]).tobytes()


def from_state_dict(sd, prefix=""):
    return [(prefix + k, TORCH_DTYPE[v.dtype], tuple(v.shape), tensor_bytes(v))
            for k, v in sd.items()]


def convert(pth, out, prefix="", metadata=None):
    sd = torch.load(pth, map_location="cpu")
    with open(out, "wb") as f:
        f.write(pack(from_state_dict(sd, prefix), metadata))


def dtype_fixture():
    """x_<DT> in every dtype and x_<DT>.expected, numpy's float32 of it."""
    vals = np.array([0, 1, -1, 2.5, -3.75, 100, 65504, 1e-7, 6e-8, -127, 127, 255, 3e38,
                     np.inf, -np.inf, 0.333333], np.float64)
    ints = np.array([0, 1, -1, 2, -3, 100, 127, -128, 5, 42, -42, 7, 9, 11, -9, 13], np.int64)
    entries = []

    def add(dt, arr, expected):
        entries.append(("x_" + dt, dt, arr.shape, arr.tobytes()))
        e = np.asarray(expected, np.float32).astype("<f4")
        entries.append(("x_%s.expected" % dt, "F32", e.shape, e.tobytes()))

    add("F32", vals.astype("<f4").reshape(4, 4), vals.astype(np.float32).reshape(4, 4))
    add("F64", vals.astype("<f8").reshape(2, 8), vals.astype(np.float32).reshape(2, 8))
    with np.errstate(over="ignore"):
        h = vals.astype("<f2")  # 3e38 -> inf; 6e-8 -> a subnormal
    add("F16", h.reshape(16), h.astype(np.float32).reshape(16))
    b = torch.tensor(vals[:13], dtype=torch.float32).to(torch.bfloat16)  # finite only
    entries.append(("x_BF16", "BF16", (13,), tensor_bytes(b)))
    e = b.to(torch.float32).numpy().astype("<f4")  # torch's widening, independent of ours
    entries.append(("x_BF16.expected", "F32", e.shape, e.tobytes()))
    big = np.array([2**40 + 1, -(2**33), 7], np.int64)
    add("I64", big.astype("<i8"), big.astype(np.float32))
    add("I32", ints.astype("<i4").reshape(2, 2, 4), ints.astype(np.float32).reshape(2, 2, 4))
    add("I16", ints.astype("<i2"), ints.astype(np.float32))
    add("I8", ints.astype("i1"), ints.astype(np.float32))
    u = np.array([0, 1, 128, 255], np.uint8)
    add("U8", u, u.astype(np.float32))
    bo = np.array([True, False, True], bool)
    add("BOOL", bo, bo.astype(np.float32))
    entries.append(("scalar", "F32", (), np.array(1.5, "<f4").tobytes()))
    entries.append(("empty", "F32", (0, 3), b""))
    return pack(entries, metadata={"format": "pt", "note": "gradcam test"})


def hdr(obj):
    return json.dumps(obj)


def hostile():
    f4 = np.arange(4, dtype="<f4").tobytes()
    ok = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    files = {
        "truncated_header.safetensors": struct.pack("<Q", 64)[:5],
        "header_past_eof.safetensors": struct.pack("<Q", 4096) + b'{"a":1}',
        "header_too_big.safetensors": struct.pack("<Q", 200 << 20) + b"{" + b" " * 64,
        "empty.safetensors": b"",
        "offsets_out_of_range.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})) + f4,
        "offsets_reversed.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 8]}})) + f4,
        "overlap.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})) + f4,
        "size_mismatch.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})) + f4,
        "bad_dtype.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}})) + f4,
        "not_object.safetensors": pack([], raw_header="[1, 2, 3]") + f4,
        "string_header.safetensors": pack([], raw_header='{"a": "b"}') + f4,
        "bad_json.safetensors": pack([], raw_header='{"a": {"dtype": "F32", ') + f4,
        "trailing_bytes.safetensors": pack([], raw_header=hdr(ok) + " x") + f4,
        "nul_in_header.safetensors": pack([], raw_header='{"a\\u0000b": 1}'.replace("\\u0000", "\x00")) + f4,
        "duplicate_keys.safetensors": pack([], raw_header=
            '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
            '"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}') + f4,
        "duplicate_after_module.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "module.a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})) + f4,
        "shape_fraction.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})) + f4,
        "shape_negative.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})) + f4,
        "shape_overflow.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [2**52, 2**52, 2**52, 16], "data_offsets": [0, 16]}})) + f4,
        "shape_huge_number.safetensors": pack([], raw_header=
            '{"a": {"dtype": "F32", "shape": [1e300], "data_offsets": [0, 16]}}') + f4,
        "too_many_dims.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [1] * 9 + [4], "data_offsets": [0, 16]}})) + f4,
        "missing_offsets.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [4]}})) + f4,
        "three_offsets.safetensors": pack([], raw_header=hdr(
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16, 16]}})) + f4,
        "no_tensors.safetensors": pack([], metadata={"format": "pt"}),
        "newline_name.safetensors": pack([], raw_header=hdr(
            {"a\nb": {"dtype": "F9", "shape": [4], "data_offsets": [0, 16]}})) + f4,
    }
    return files


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--convert":
        convert(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) != 1:
        print(__doc__)
        return 2
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    w1 = os.path.join(ROOT, "fuzz", "corpus", "pth", "resnet_w1.pth")
    convert(w1, os.path.join(OUT, "resnet_w1.safetensors"))
    # the same weights under DataParallel names, with metadata
    convert(w1, os.path.join(OUT, "resnet_w1_module.safetensors"), prefix="module.",
            metadata={"format": "pt", "framework": "torch"})
    with open(os.path.join(OUT, "dtypes.safetensors"), "wb") as f:
        f.write(dtype_fixture())
    for name, blob in hostile().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    for n in sorted(os.listdir(OUT)):
        shutil.copy(os.path.join(OUT, n), os.path.join(CORPUS, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
