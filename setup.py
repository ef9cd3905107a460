"""Builds the Python package's native part: libgradcam.so and the gradcam
command, with the project's own CMake build, copied into the package.

$GRADCAM_BUILD_DIR: an existing CMake build folder whose libgradcam.so and
gradcam are used as they are (no build). Otherwise CMake configures
build-python/ in the repository (Release, no tests) and builds the two
targets there. Metadata is in pyproject.toml."""
import os
import re
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


def cmake_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(gradcam VERSION ([0-9.]+)", f.read()).group(1)


def native_build():
    build = os.environ.get("GRADCAM_BUILD_DIR")
    if build:
        return build
    build = os.path.join(ROOT, "build-python")
    subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                           "-DGC_BUILD_TESTS=OFF", "-DGC_SHARED=ON"])
    subprocess.check_call(["cmake", "--build", build, "-j%d" % (os.cpu_count() or 2),
                           "--target", "gradcam_shared", "gradcam"])
    return build


class build_with_library(build_py):
    def run(self):
        super().run()
        build = native_build()
        lib, cli = os.path.join(build, "libgradcam.so"), os.path.join(build, "gradcam")
        for path in (lib, cli):
            if not os.path.isfile(path):
                raise SystemExit("setup.py: %s is missing (build the gradcam_shared and "
                                 "gradcam targets)" % path)
        dest = os.path.join(self.build_lib, "gradcam")
        os.makedirs(os.path.join(dest, "bin"), exist_ok=True)
        shutil.copyfile(os.path.realpath(lib), os.path.join(dest, "libgradcam.so"))
        shutil.copy2(cli, os.path.join(dest, "bin", "gradcam"))


class BinaryDistribution(Distribution):
    """A platform wheel: it carries a shared library and an executable."""

    def has_ext_modules(self):
        return True


setup(version=cmake_version(), cmdclass={"build_py": build_with_library},
      distclass=BinaryDistribution)
