# gradcam report: a self-contained page, driven in headless Chromium
# (playwright-core installed into the build folder when missing) (issue 19).
add_test(NAME report
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_report.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
set_tests_properties(report PROPERTIES TIMEOUT 400
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
