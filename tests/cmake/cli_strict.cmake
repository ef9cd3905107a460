# Each command takes only its own options; usage, directories given as
# images, inputs sharing a file stem, --method lists (issue 15).
add_test(NAME cli_strict
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_cli_strict.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
