#!/usr/bin/python3
"""Hand-built and broken ONNX files through `gradcam explain` / `layers`.

What it is: the loader's robustness and encoding test. A small protobuf
writer (the wire format is a few lines; the onnx Python package is not a
dependency) builds a tiny classifier, Conv -> Relu -> GlobalAveragePool ->
Flatten -> Gemm, in the encodings the issue lists: raw float initializers,
typed float_data, fp16 initializers, external data beside the model. Each
valid one must give the logits numpy computes from the same weights. Then
broken files: truncated, a bad varint, a length past the end, a weight whose
shape does not fit, a cycle, an input nobody produces, an unknown operator,
an unsupported opset, external data outside the model's directory or
missing. Each must exit non-zero with exactly one line on stderr that says
what is wrong, and no sanitizer report or signal.

Usage: test_onnx_malformed.py --gradcam PATH/TO/gradcam
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

# ---- protobuf wire format ---------------------------------------------------


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload


def f_int(num, v):
    return field(num, 0, varint(v))


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return field(num, 2, varint(len(b)) + b)


def f_float(num, v):
    return field(num, 5, struct.pack("<f", v))


# ---- ONNX messages (field numbers from onnx.proto) --------------------------

FLOAT, INT64, FLOAT16 = 1, 7, 10


def tensor(name, dims, data=None, dtype=FLOAT, encoding="raw", external=None):
    m = b"".join(f_int(1, d) for d in dims) + f_int(2, dtype) + f_bytes(8, name)
    if external is not None:
        for k, v in external.items():
            m += f_bytes(13, f_bytes(1, k) + f_bytes(2, v))
        m += f_int(14, 1)
        return m
    a = np.asarray(data)
    if encoding == "raw":
        np_type = {FLOAT: "<f4", INT64: "<i8", FLOAT16: "<f2"}[dtype]
        m += f_bytes(9, a.astype(np_type).tobytes())
    elif dtype == FLOAT:  # typed, packed
        m += f_bytes(4, a.astype("<f4").tobytes())
    elif dtype == FLOAT16:  # fp16 bits in int32_data
        bits = a.astype("<f2").view("<u2").astype(np.int64)
        m += f_bytes(5, b"".join(varint(int(b)) for b in bits.ravel()))
    else:
        m += f_bytes(7, b"".join(varint(int(v)) for v in a.ravel()))
    return m


def attr_ints(name, vals):
    return f_bytes(1, name) + b"".join(f_int(8, v) for v in vals) + f_int(20, 7)


def attr_int(name, v):
    return f_bytes(1, name) + f_int(3, v) + f_int(20, 2)


def node(op, inputs, outputs, name, attrs=()):
    m = b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
    m += f_bytes(3, name) + f_bytes(4, op)
    return m + b"".join(f_bytes(5, a) for a in attrs)


def value_info(name, dims):
    shape = b"".join(f_bytes(1, f_int(1, d) if isinstance(d, int) else f_bytes(2, d))
                     for d in dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, f_int(1, FLOAT) + f_bytes(2, shape)))


def model(nodes, inits, inputs, outputs, opset=13):
    g = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, "g")
    g += b"".join(f_bytes(5, t) for t in inits)
    g += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    return f_int(1, 7) + f_bytes(2, "test") + f_bytes(7, g) + f_bytes(8, f_int(2, opset))


# ---- the tiny classifier ----------------------------------------------------

rng = np.random.default_rng(3)
W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
B = rng.standard_normal(4).astype(np.float32)
FW = rng.standard_normal((5, 4)).astype(np.float32)
FB = rng.standard_normal(5).astype(np.float32)
X = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)


def reference(w=W, b=B, fw=FW, fb=FB):
    """Conv 3x3 pad 1 -> ReLU -> mean -> fc, in float64 numpy."""
    x = np.pad(X.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((2, 4, 8, 8))
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", x[:, :, i:i + 8, j:j + 8], w[:, :, i, j])
    out = np.maximum(out + b[None, :, None, None], 0).mean((2, 3))
    return out @ fw.T.astype(np.float64) + fb


def classifier(conv_w=None, nodes_override=None, opset=13, w_encoding="raw", dtype=FLOAT,
               external=None, wdims=(4, 3, 3, 3), fw=FW):
    nodes = nodes_override or [
        node("Conv", ["x", "w", "b"], ["c"], "/conv/Conv",
             [attr_ints("pads", [1, 1, 1, 1]), attr_ints("kernel_shape", [3, 3])]),
        node("Relu", ["c"], ["r"], "/relu/Relu"),
        node("GlobalAveragePool", ["r"], ["p"], "/pool/GlobalAveragePool"),
        node("Flatten", ["p"], ["f"], "/Flatten"),
        node("Gemm", ["f", "fw", "fb"], ["y"], "/fc/Gemm", [attr_int("transB", 1)]),
    ]
    w = W if conv_w is None else conv_w
    inits = [tensor("w", wdims, w, dtype=dtype, encoding=w_encoding, external=external),
             tensor("b", [4], B), tensor("fw", list(fw.shape), fw), tensor("fb", [5], FB)]
    return model(nodes, inits, [value_info("x", ["N", 3, 8, 8])], [value_info("y", ["N", 5])],
                 opset)


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="gc_onnx_bad_") as tmp:
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, X)

        def write(name, data):
            path = os.path.join(tmp, name + ".onnx")
            with open(path, "wb") as f:
                f.write(data)
            return path

        def expect_ok(label, data, ref, tol=1e-5):
            path = write(label, data)
            out = os.path.join(tmp, "out_" + label)
            rc, err = run([a.gradcam, "explain", "--model", path, "--input-npy", xpath,
                           "--layer", "conv", "--out", out])
            if rc != 0:
                failures.append("%s: exit %d: %s" % (label, rc, err.strip()))
                return
            got = np.load(os.path.join(out, "x.logits.npy"))
            e = np.abs(got - ref).max() / np.abs(ref).max()
            status = "ok  " if e <= tol else "FAIL"
            print("%s %-34s logits rel err %.2e" % (status, label, e))
            if e > tol:
                failures.append("%s: logits off by %.2e" % (label, e))

        def expect_error(label, data, words):
            path = write(label, data) if isinstance(data, bytes) else data
            rc, err = run([a.gradcam, "layers", "--model", path])
            lines = [l for l in err.splitlines() if l.strip()]
            problems = []
            if rc is None or rc <= 0:
                problems.append("exit %s" % rc)
            if len(lines) != 1:
                problems.append("%d stderr lines" % len(lines))
            if "Sanitizer" in err or "runtime error" in err:
                problems.append("sanitizer report")
            if not all(w.lower() in err.lower() for w in words):
                problems.append("message lacks %s" % words)
            print("%s %-34s %s" % ("FAIL" if problems else "ok  ", label,
                                    (lines[0] if lines else "")[:110]))
            if problems:
                failures.append("%s: %s: %s" % (label, ", ".join(problems), err.strip()[:300]))

        good = classifier()
        ref = reference()
        expect_ok("raw_float", good, ref)
        expect_ok("typed_float_data", classifier(w_encoding="typed"), ref)
        w16 = W.astype(np.float16)
        ref16 = reference(w=w16.astype(np.float32))
        expect_ok("fp16_raw", classifier(conv_w=w16, dtype=FLOAT16), ref16)
        expect_ok("fp16_typed", classifier(conv_w=w16, dtype=FLOAT16, w_encoding="typed"), ref16)
        with open(os.path.join(tmp, "weights.data"), "wb") as f:
            f.write(b"\0" * 100 + W.astype("<f4").tobytes())
        expect_ok("external_data", classifier(external={
            "location": "weights.data", "offset": "100", "length": str(W.size * 4)}), ref)

        expect_error("truncated", good[: len(good) // 2], ["truncated or malformed"])
        expect_error("bad_varint", b"\x08" + b"\xff" * 12 + good[2:], ["malformed"])
        expect_error("length_past_end", f_int(1, 7) + b"\x3a\xff\xff\xff\x0f" + good[2:40],
                     ["malformed"])
        expect_error("empty_file", b"", [])
        expect_error("weight_shape_mismatch",
                     classifier(conv_w=np.zeros((4, 2, 3, 3), np.float32), wdims=(4, 2, 3, 3)),
                     ["/conv/Conv", "channels"])
        expect_error("raw_data_too_short", classifier(conv_w=W[:2], wdims=(4, 3, 3, 3)),
                     ["'w'", "bytes"])
        cycle = [node("Relu", ["b2"], ["a2"], "/A/Relu"), node("Relu", ["a2"], ["b2"], "/B/Relu")]
        expect_error("cycle", classifier(nodes_override=cycle), ["'b2'", "cycle"])
        dangling = [node("Relu", ["nowhere"], ["y"], "/A/Relu")]
        expect_error("dangling_input", classifier(nodes_override=dangling),
                     ["'nowhere'", "not produced"])
        unknown = [node("Relu", ["x"], ["r"], "/A/Relu"), node("FancyOp", ["r"], ["y"], "/B/Fancy")]
        expect_error("unknown_operator", classifier(nodes_override=unknown),
                     ["FancyOp", "/B/Fancy"])
        expect_error("old_opset", classifier(opset=7), ["opset 7"])
        expect_error("external_escapes", classifier(external={"location": "../../etc/passwd"}),
                     ["leaves the model's directory"])
        expect_error("external_missing", classifier(external={"location": "gone.data"}),
                     ["gone.data"])
        expect_error("external_short", classifier(external={
            "location": "weights.data", "offset": "200"}), ["weights.data"])
        expect_error("gemm_shape_mismatch", classifier(fw=FW[:, :3].copy()), ["/fc/Gemm"])
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1
    print("all ONNX encoding and malformed-file checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
