# image.cmake — checks of the image/npy concern that need Python.
# NumPy must read the .npy file test_npy writes (same shape and values it
# computes independently), so our writer is checked by the real reader.
add_test(NAME image_npy_numpy_reads
  COMMAND ${GC_PY} -c "import numpy as np; a = np.load('${PROJECT_BINARY_DIR}/test_npy_for_numpy.npy'); want = ((np.arange(24, dtype=np.float64) - 7.25) / 3).astype(np.float32).reshape(2, 3, 4); assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape); assert (a == want).all(); print('numpy reads our .npy: ok')")
set_tests_properties(test_npy PROPERTIES FIXTURES_SETUP gc_npy_written)
set_tests_properties(image_npy_numpy_reads PROPERTIES FIXTURES_REQUIRED gc_npy_written)

# Under GC_SANITIZE, ignore fontconfig's own one-off leaks (cairo text).
set_tests_properties(test_render PROPERTIES ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0")
