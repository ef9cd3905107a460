# Many images in one run: the decode / compute / write pipeline keeps
# outputs identical to one-by-one runs and stops where it should.
add_test(NAME many_images
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_many_images.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
