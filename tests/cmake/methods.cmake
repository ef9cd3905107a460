# The CAM family (issue 5's acceptance): every method's raw map, guided
# backprop / Guided Grad-CAM and --counterfactual from the CLI against the
# PyTorch implementations of the definitions in tests/python/cam_oracle.py,
# on random narrow resnet18 and bottleneck resnets built at test time; and
# the reference's own self-test. Both need /usr/bin/python3 with
# python3-torch, python3-numpy (and python3-opencv for the self-test).
add_test(NAME cam_methods
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_methods.py
          --gradcam $<TARGET_FILE:gradcam>)
# The same methods on ONNX exports of both architectures (BN folded by the
# exporter): what the CLI computes does not depend on the weight format.
add_test(NAME cam_methods_onnx
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_methods.py
          --gradcam $<TARGET_FILE:gradcam> --onnx)
add_test(NAME cam_oracle_selftest
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/cam_oracle.py --selftest)
set_tests_properties(cam_methods cam_methods_onnx cam_oracle_selftest PROPERTIES LABELS methods)
set_tests_properties(cam_methods cam_methods_onnx PROPERTIES TIMEOUT 900)
