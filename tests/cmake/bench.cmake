# The benchmarks' --write (bench/test_write.py): a report replaces only its
# own block of bench/README.md, and a file without the markers is refused
# before any timing. Needs neither PyTorch nor ONNX Runtime.
add_test(NAME bench_write
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/bench/test_write.py)
