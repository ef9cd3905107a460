#!/usr/bin/python3
"""make_image_fixtures.py — writes tests/fixtures/image/*: inputs and the
answers OpenCV, Pillow/torchvision, NumPy and matplotlib give for them, for
tests/unit/test_{image,npy,render}.c. Seeded, so reruns give the same files
(given the same library versions: OpenCV 4.6, Pillow 9.4, torchvision 0.14,
matplotlib 3.6 on Debian 12).

    /usr/bin/python3 tests/python/make_image_fixtures.py [outdir]
"""
import io
import os
import sys

import cv2
import numpy as np
from PIL import Image

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "image")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240601)


def path(name):
    return os.path.join(OUT, name)


def save(name, arr):
    np.save(path(name), arr)  # keeps 0-d and Fortran-ordered arrays as they are


def save_rgb(name, img):
    """8-bit RGB arrays are stored as PNG (lossless, and smaller than .npy);
    the C tests read them with gc_image_load, whose PNG path is itself
    checked against cv2.imread below."""
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert cv2.imwrite(path(name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def smooth_image(w, h):
    """A photo-like image: gradients and blobs plus mild noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / (w / 5.0) + 0.3) * np.cos(y / (h / 3.0))
    g = 255.0 * x / max(w - 1, 1)
    b = 200 * np.exp(-(((x - w * 0.6) / (w * 0.25)) ** 2 + ((y - h * 0.4) / (h * 0.3)) ** 2))
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def noise_image(w, h):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---- cv2.resize(INTER_LINEAR) on uint8 ------------------------------------
sources = {
    "noise_37x23": noise_image(37, 23),
    "smooth_64x48": smooth_image(64, 48),
    "noise_64x48": noise_image(64, 48),
    "noise_1x9": noise_image(1, 9),
    "noise_9x1": noise_image(9, 1),
    "noise_1x1": noise_image(1, 1),
    "smooth_97x71": smooth_image(97, 71),
    "noise_63x45": noise_image(63, 45),
}
cases = [
    ("noise_37x23", 100, 61),   # upscale, non-integer
    ("noise_37x23", 74, 46),    # exact 2x upscale
    ("noise_37x23", 13, 8),     # downscale, non-integer
    ("noise_37x23", 37, 23),    # same size
    ("noise_37x23", 1, 1),
    ("noise_37x23", 37, 1),
    ("noise_37x23", 1, 23),
    ("noise_37x23", 50, 11),    # up in x, down in y
    ("smooth_64x48", 32, 24),   # exact 2x downscale: INTER_AREA in OpenCV
    ("noise_64x48", 32, 24),
    ("noise_64x48", 32, 48),    # 2x on one axis only: stays bilinear
    ("noise_64x48", 16, 12),    # exact 4x: stays bilinear
    ("noise_63x45", 21, 15),    # exact 3x
    ("noise_63x45", 31, 22),    # almost 2x
    ("noise_1x9", 5, 20),
    ("noise_9x1", 20, 3),
    ("noise_1x1", 7, 4),
    ("smooth_97x71", 224, 224), # the seed's use
    ("smooth_64x48", 224, 224),
]
for name, img in sources.items():
    save_rgb(f"src_{name}.png", img)
with open(path("resize_cases.txt"), "w") as f:
    for name, dw, dh in cases:
        out = cv2.resize(sources[name], (dw, dh), interpolation=cv2.INTER_LINEAR)
        out_name = f"cv_{name}_to_{dw}x{dh}.png"
        save_rgb(out_name, out.reshape(dh, dw, 3))
        f.write(f"src_{name}.png {dw} {dh} {out_name}\n")

# ---- cv2.resize(INTER_LINEAR) on float32 maps -----------------------------
fcases = [((7, 7), (112, 112)), ((7, 5), (100, 61)), ((14, 10), (50, 33)),
          ((8, 6), (4, 3)), ((13, 9), (5, 4)), ((1, 1), (9, 9)), ((5, 1), (16, 3))]
with open(path("resize_f32_cases.txt"), "w") as f:
    for (sw, sh), (dw, dh) in fcases:
        src = rng.random((sh, sw), dtype=np.float32)
        out = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR).reshape(dh, dw)
        sn, on = f"f32_src_{sw}x{sh}_{dw}x{dh}.npy", f"f32_cv_{sw}x{sh}_{dw}x{dh}.npy"
        save(sn, src)
        save(on, out)
        f.write(f"{sn} {dw} {dh} {on}\n")

# ---- JPEG decoding: cv2.imdecode is the reference -------------------------
photo = smooth_image(160, 120)
ok, enc = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, 90])
jpg = enc.tobytes()
open(path("photo.jpg"), "wb").write(jpg)
dec = cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
save("photo_jpg_cv.npy", dec)

buf = io.BytesIO()
Image.fromarray(smooth_image(50, 33)).save(buf, "JPEG", quality=85, progressive=True,
                                           subsampling=0)
open(path("progressive444.jpg"), "wb").write(buf.getvalue())
save("progressive444_cv.npy", cv2.cvtColor(
    cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))

buf = io.BytesIO()
Image.fromarray(smooth_image(41, 29)[:, :, 1]).save(buf, "JPEG", quality=80)
open(path("grey.jpg"), "wb").write(buf.getvalue())
save("grey_jpg_cv.npy", cv2.cvtColor(
    cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))

buf = io.BytesIO()
Image.fromarray(smooth_image(16, 16)).convert("CMYK").save(buf, "JPEG")
open(path("cmyk.jpg"), "wb").write(buf.getvalue())

open(path("truncated.jpg"), "wb").write(jpg[: len(jpg) // 2])
bad = bytearray(jpg)
sos = bad.find(b"\xff\xda")
bad[sos + 2: sos + 40] = b"\xff\x00" * 19  # wreck the scan header
open(path("corrupt.jpg"), "wb").write(bytes(bad))
open(path("header_only.jpg"), "wb").write(jpg[:20])

# ---- PNG decoding: cv2.imread(IMREAD_COLOR) is the reference --------------
def png_case(name, data_writer):
    p = path(name + ".png")
    data_writer(p)
    ref = cv2.imread(p, cv2.IMREAD_COLOR)
    save(name + "_png_cv.npy", cv2.cvtColor(ref, cv2.COLOR_BGR2RGB))


small = smooth_image(23, 17)
png_case("rgb", lambda p: Image.fromarray(small).save(p))
rgba = np.dstack([small, rng.integers(0, 256, (17, 23), dtype=np.uint8)])
png_case("rgba", lambda p: Image.fromarray(rgba, "RGBA").save(p))
png_case("grey", lambda p: Image.fromarray(small[:, :, 0]).save(p))
png_case("grey_alpha", lambda p: Image.fromarray(rgba[:, :, 2:4], "LA").save(p))
png_case("bilevel", lambda p: Image.fromarray(small[:, :, 1] > 128).save(p))
png_case("palette", lambda p: Image.fromarray(small).quantize(colors=13).save(p))
png_case("rgb16", lambda p: cv2.imwrite(
    p, rng.integers(0, 65536, (17, 23, 3), dtype=np.uint16)))
png_case("grey16", lambda p: cv2.imwrite(
    p, rng.integers(0, 65536, (17, 23), dtype=np.uint16)))
png_case("rgba16", lambda p: cv2.imwrite(
    p, rng.integers(0, 65536, (17, 23, 4), dtype=np.uint16)))
good = open(path("rgb.png"), "rb").read()
open(path("truncated.png"), "wb").write(good[: len(good) * 2 // 3])
bad = bytearray(good)
idat = bad.find(b"IDAT")
bad[idat + 10] ^= 0x55  # CRC mismatch
open(path("badcrc.png"), "wb").write(bytes(bad))
open(path("not_an_image.png"), "wb").write(b"GIF89a this is not a png at all")

# ---- preprocessing ---------------------------------------------------------
import torch  # noqa: E402  (only needed from here on)
import torchvision.transforms as T  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
norm = T.Normalize(MEAN, STD)


def stretch(img, size):
    """The seed: cv2.resize to size x size, /255, normalise (float32)."""
    r = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
    t = torch.from_numpy(r).permute(2, 0, 1).float().div(255)
    return norm(t).numpy()


def crop(img, size):
    tf = T.Compose([T.Resize(round(size * 256 / 224)), T.CenterCrop(size),
                    T.ToTensor(), norm])
    return tf(Image.fromarray(img)).numpy()


def crop_u8(img, size):
    tf = T.Compose([T.Resize(round(size * 256 / 224)), T.CenterCrop(size)])
    return np.asarray(tf(Image.fromarray(img)))


save("tensor_stretch_64.npy", stretch(dec, 64))
save("tensor_crop_96.npy", crop(dec, 96))
portrait = smooth_image(120, 161)
save_rgb("src_portrait_120x161.png", portrait)
save("tensor_crop_96_portrait.npy", crop(portrait, 96))
save_rgb("crop_u8_224.png", crop_u8(dec, 224))           # 341x256, left offset 58.5
save_rgb("crop_u8_224_portrait.png", crop_u8(portrait, 224))  # 256x343, top 59.5
big = smooth_image(333, 250)
save_rgb("src_smooth_333x250.png", big)
save_rgb("crop_u8_64_big.png", crop_u8(big, 64))         # strong antialiased shrink

# ---- matplotlib's jet ------------------------------------------------------
import matplotlib  # noqa: E402
matplotlib.use("Agg")
from matplotlib import cm  # noqa: E402

v = np.concatenate([np.linspace(0, 1, 1001, dtype=np.float32),
                    np.array([-0.5, 1.5, 0.99999, 1 / 256, 255 / 256], np.float32)])
save("jet_v.npy", v)
save("jet_rgb.npy", cm.get_cmap("jet")(v, bytes=True)[:, :3].astype(np.uint8))

# ---- .npy headers NumPy writes ---------------------------------------------
a = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 7.25) / 3
save("npy_f8.npy", a)
save("npy_f4.npy", a.astype(np.float32))
save("npy_f2.npy", np.array([0, 1, -2.5, 65504, 6.1035156e-05, 5.96e-08, np.inf], np.float16))
save("npy_scalar.npy", np.float32(3.5))
save("npy_empty.npy", np.zeros((0, 3), np.float32))
save("npy_fortran.npy", np.asfortranarray(a.astype(np.float32)))
save("npy_bigendian.npy", a.astype(">f4"))
save("npy_int32.npy", np.arange(6, dtype=np.int32))
for ver in [(2, 0), (3, 0)]:
    with open(path(f"npy_v{ver[0]}.npy"), "wb") as f:
        np.lib.format.write_array(f, a.astype(np.float32), version=ver)

# ---- images whose headers exceed the 100-megapixel cap ---------------------
import struct  # noqa: E402
import zlib  # noqa: E402


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)  # 400 MP RGB
open(path("huge.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                   chunk(b"IDAT", zlib.compress(b"\0" * 64)) +
                                   chunk(b"IEND", b""))
j = bytearray(jpg)
sof = j.find(b"\xff\xc0")
j[sof + 5: sof + 9] = struct.pack(">HH", 30000, 30000)  # height, width: 900 MP
open(path("huge.jpg"), "wb").write(bytes(j))

print("wrote", len(os.listdir(OUT)), "files to", OUT)
