# Faithfulness and localisation metrics (explain --metrics) against an
# independent NumPy / PyTorch implementation, and Grad-CAM against random
# and centred-Gaussian baselines on the demo model (issue 19).
add_test(NAME metrics
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_metrics.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
set_tests_properties(metrics PROPERTIES TIMEOUT 600
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
