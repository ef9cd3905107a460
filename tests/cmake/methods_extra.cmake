# The rest of the CAM family (issue 5): cam (and its refusal away from the
# layer feeding global average pooling), fem, fullgrad, several layers,
# --eigen-smooth, --aug-smooth, --top-k and repeated --class, from the CLI
# against tests/python/cam_oracle_extra.py on test_methods.py's random narrow
# resnets; and that reference's own self-test. Both need /usr/bin/python3
# with python3-torch, python3-numpy and python3-opencv.
add_test(NAME cam_methods_extra
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_methods_extra.py
          --gradcam $<TARGET_FILE:gradcam>)
add_test(NAME cam_oracle_extra_selftest
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/cam_oracle_extra.py --selftest)
set_tests_properties(cam_methods_extra cam_oracle_extra_selftest PROPERTIES LABELS methods)
set_tests_properties(cam_methods_extra PROPERTIES TIMEOUT 900)
