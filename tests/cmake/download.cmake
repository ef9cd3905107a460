# Class names and pretrained-weight tables checked against the installed
# torchvision (the C tests in tests/unit/test_classes.c and test_download.c
# cover behaviour; these make sure the data itself is torchvision's).
add_test(NAME imagenet_classes_table
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tools/gen_imagenet_classes.py --check)
add_test(NAME pretrained_weights_table
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/check_pretrained_table.py
          ${PROJECT_SOURCE_DIR})
