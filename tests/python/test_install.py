#!/usr/bin/python3
"""test_install.py — `cmake --install` into a temporary prefix, then a small
C program (tests/install/consumer.c) built against that prefix three ways
and run on the demo model: with pkg-config against the shared library,
with `pkg-config --static` against the static one (its Requires.private and
Libs.private must be enough to link), and with CMake's
find_package(gradcam) / gradcam::gradcam. Also checks the installed files,
the shared library's soname, that it exports exactly the header's gc_
functions, and that gradcam.pc still points into the prefix once the
prefix is moved.

Usage: test_install.py --build BUILD_DIR --source SOURCE_DIR
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import check, finish  # noqa: E402


def sh(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    src = os.path.abspath(a.source)
    model = os.path.join(src, "models", "shapes.pth")  # 160x160 in, layer4 5x5
    consumer = os.path.join(src, "tests", "install", "consumer.c")
    header = open(os.path.join(src, "include", "gradcam.h")).read()
    version = re.search(r"project\(gradcam VERSION ([0-9.]+)",
                        open(os.path.join(src, "CMakeLists.txt")).read()).group(1)
    tmp = tempfile.mkdtemp(prefix="gc-install-")
    try:
        prefix = os.path.join(tmp, "prefix")
        rc, out = sh(["cmake", "--install", a.build, "--prefix", prefix])
        check(rc == 0, "cmake --install", out[-2000:] if rc else "")
        if rc:
            return finish()
        so = glob.glob(os.path.join(prefix, "lib*", "**", "libgradcam.so"), recursive=True)
        check(len(so) == 1, "one libgradcam.so installed", str(so))
        libdir = os.path.dirname(so[0]) if so else os.path.join(prefix, "lib")
        for rel in ("bin/gradcam", "include/gradcam.h"):
            check(os.path.isfile(os.path.join(prefix, rel)), "installed " + rel)
        for name in ("libgradcam.a", "libgradcam.so.%s" % version,
                     "pkgconfig/gradcam.pc", "cmake/gradcam/gradcamConfig.cmake",
                     "cmake/gradcam/gradcamConfigVersion.cmake"):
            check(os.path.isfile(os.path.join(libdir, name)), "installed " + name)
        major = version.split(".")[0]
        check(os.path.realpath(so[0]) == os.path.join(libdir, "libgradcam.so." + version) and
              os.readlink(os.path.join(libdir, "libgradcam.so.%s" % major)) ==
              "libgradcam.so." + version, "libgradcam.so -> .so.%s -> .so.%s" % (major, version))
        rc, out = sh(["objdump", "-p", so[0]])
        soname = re.search(r"SONAME\s+(\S+)", out)
        check(soname and soname.group(1) == "libgradcam.so." + major, "soname",
              soname.group(1) if soname else out[-500:])
        rc, out = sh(["nm", "-D", "--defined-only", so[0]])
        exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
        declared = set(re.findall(r"\b(gc_[a-z0-9_]+)\(", header))
        check(exported == declared, "exports exactly the header's %d functions" % len(declared),
              "extra %s, missing %s" % (sorted(exported - declared)[:8],
                                        sorted(declared - exported)[:8]))
        rc, out = sh([os.path.join(prefix, "bin", "gradcam"), "--version"])
        check(rc == 0 and version in out, "installed CLI runs", out.strip())

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
        rc, modv = sh(["pkg-config", "--modversion", "gradcam"], env=env)
        check(rc == 0 and modv.strip() == version, "pkg-config --modversion", modv.strip())

        # Shared, through pkg-config.
        rc, flags = sh(["pkg-config", "--cflags", "--libs", "gradcam"], env=env)
        incs = [os.path.normpath(f[2:]) for f in flags.split() if f.startswith("-I")]
        check(rc == 0 and incs == [os.path.join(prefix, "include")],
              "pkg-config --cflags --libs", flags.strip())
        exe = os.path.join(tmp, "consumer_shared")
        rc, out = sh(["cc", "-std=c11", "-O1", consumer, "-o", exe] + flags.split() +
                     ["-lm", "-Wl,-rpath," + libdir])
        check(rc == 0, "build with pkg-config (shared)", out[-2000:])
        rc, out = sh([exe, model, "160", "5", "5"])
        check(rc == 0 and out.startswith("ok") and "version " + version in out,
              "run (shared)", out.strip())
        rc, out = sh(["ldd", exe])
        check(os.path.realpath(so[0]) in [os.path.realpath(t) for t in out.split()
                                          if t.startswith("/")],
              "it loads the installed libgradcam.so", "")

        # Static, through pkg-config --static: the private dependencies.
        rc, flags = sh(["pkg-config", "--static", "--cflags", "--libs", "gradcam"], env=env)
        check(rc == 0 and "-lopenblas" in flags and "-ljpeg" in flags, "pkg-config --static",
              flags.strip()[:300])
        static = ["-l:libgradcam.a" if f == "-lgradcam" else f for f in flags.split()]
        exe = os.path.join(tmp, "consumer_static")
        rc, out = sh(["cc", "-std=c11", "-O1", consumer, "-o", exe] + static + ["-lm"])
        check(rc == 0, "build with pkg-config --static", out[-2000:])
        rc, out = sh([exe, model, "160", "5", "5"])
        check(rc == 0 and out.startswith("ok"), "run (static)", out.strip())
        rc, out = sh(["ldd", exe])
        check(rc == 0 and "libgradcam" not in out and "libopenblas" in out,
              "static: no libgradcam.so needed", "")

        # CMake's find_package.
        cbuild = os.path.join(tmp, "cmake-consumer")
        rc, out = sh(["cmake", "-S", os.path.join(src, "tests", "install"), "-B", cbuild,
                      "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"])
        check(rc == 0, "find_package(gradcam)", out[-2000:] if rc else "")
        rc, out = sh(["cmake", "--build", cbuild])
        check(rc == 0, "build with gradcam::gradcam", out[-2000:] if rc else "")
        exe = os.path.join(cbuild, "consumer")
        rc, out = sh([exe, model, "160", "5", "5"])
        check(rc == 0 and out.startswith("ok"), "run (CMake)", out.strip())
        rc, out = sh(["ldd", exe])
        check(os.path.realpath(so[0]) in [os.path.realpath(t) for t in out.split()
                                          if t.startswith("/")],
              "CMake consumer loads the installed libgradcam.so", "")
        # A major version the package does not offer is refused.
        rc, out = sh(["cmake", "-S", os.path.join(src, "tests", "install"), "-B",
                      os.path.join(tmp, "too-new"), "-DCMAKE_PREFIX_PATH=" + prefix,
                      "-DGC_WANT_VERSION=%d" % (int(major) + 1)])
        check(rc != 0 and "compatible with requested version" in out,
              "find_package refuses version %d" % (int(major) + 1), out[-300:])

        # The prefix moved elsewhere: gradcam.pc follows it.
        moved = os.path.join(tmp, "moved")
        shutil.move(prefix, moved)
        env["PKG_CONFIG_PATH"] = env["PKG_CONFIG_PATH"].replace(prefix, moved)
        rc, flags = sh(["pkg-config", "--cflags", "gradcam"], env=env)
        check(rc == 0 and os.path.normpath(flags.strip()[2:]) == os.path.join(moved, "include"),
              "gradcam.pc is relocatable", flags.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
