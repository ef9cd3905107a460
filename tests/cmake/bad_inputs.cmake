# The table of bad and hostile inputs through the CLI (tests/python/
# test_bad_inputs.py): exit codes, one-line messages, no side effect from
# malicious pickles. Needs PyTorch to write the checkpoints it damages.
add_test(NAME bad_inputs
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_bad_inputs.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
set_tests_properties(bad_inputs PROPERTIES TIMEOUT 600)
