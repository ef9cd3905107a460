# --labels, --input-size, --mean, --std against an OpenCV-prepared tensor.
add_test(NAME cli_options
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_cli_options.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
