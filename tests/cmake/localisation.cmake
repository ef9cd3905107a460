# Localisation of the demo model's Grad-CAM maps, computed by the C tool:
# pointing game, class discrimination and baselines on fresh held-out scenes
# (tests/python/test_localisation.py; needs python3-numpy and python3-opencv).
add_test(NAME localisation
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_localisation.py
          $<TARGET_FILE:gradcam> ${PROJECT_SOURCE_DIR})
set_tests_properties(localisation PROPERTIES TIMEOUT 900
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
