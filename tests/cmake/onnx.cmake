# onnx.cmake — ONNX models (issue 4): parity of `gradcam explain` with
# PyTorch on seven torchvision architectures exported at test time, and the
# loader's refusal of malformed files through the CLI.
add_test(NAME onnx_parity
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_parity.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME onnx_malformed
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_malformed.py
          --gradcam $<TARGET_FILE:gradcam>)
set_tests_properties(onnx_parity onnx_malformed PROPERTIES LABELS onnx)
set_tests_properties(onnx_parity PROPERTIES TIMEOUT 900)
