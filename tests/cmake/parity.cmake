# Parity with PyTorch (issue 2's acceptance): committed fixtures, a
# full-size resnet18 built at test time, and the oracle's own self-test.
# All need /usr/bin/python3 with python3-torch; the first two run the CLI.
add_test(NAME parity_oracle_selftest
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/oracle.py --selftest)
add_test(NAME parity_fixtures
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_parity.py
          --gradcam $<TARGET_FILE:gradcam>
          --fixtures ${PROJECT_SOURCE_DIR}/tests/fixtures/parity)
add_test(NAME parity_live
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_live_parity.py
          --gradcam $<TARGET_FILE:gradcam>)
set_tests_properties(parity_oracle_selftest parity_fixtures parity_live
  PROPERTIES LABELS parity)
set_tests_properties(parity_fixtures parity_live PROPERTIES TIMEOUT 600)
