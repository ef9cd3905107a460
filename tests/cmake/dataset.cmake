# Data set runs (issue 19): manifests, folders, per-image targets, results
# records, failures recorded, --resume after a kill, shards and merge.
add_test(NAME dataset
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_dataset.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
set_tests_properties(dataset PROPERTIES TIMEOUT 300
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
