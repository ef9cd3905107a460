# onnx.cmake — ONNX models (issue 4): parity of `gradcam explain` with
# PyTorch on seven torchvision architectures exported at test time, and the
# loader's refusal of malformed files through the CLI; token models (issue
# 17): the shape-arithmetic operators around a class token, LayerNorm,
# attention's moved batch axis, token layers; resizing (segmentation heads).
add_test(NAME onnx_parity
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_parity.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME onnx_malformed
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_malformed.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME onnx_tokens
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_tokens.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME onnx_resize
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_resize.py
          --gradcam $<TARGET_FILE:gradcam>)
# issue 17: window attention (Swin's shifted-window mask, MaxViT's Einsum);
# choosing among a model's outputs
add_test(NAME onnx_windows
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_windows.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME onnx_outputs
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_onnx_outputs.py
          --gradcam $<TARGET_FILE:gradcam>)
set_tests_properties(onnx_parity onnx_malformed onnx_tokens onnx_resize onnx_windows
  onnx_outputs PROPERTIES LABELS onnx)
set_tests_properties(onnx_windows PROPERTIES TIMEOUT 900)
set_tests_properties(onnx_resize PROPERTIES TIMEOUT 600)
set_tests_properties(onnx_parity PROPERTIES TIMEOUT 900)
