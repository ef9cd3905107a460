# python.cmake — issue 18: the Python package. python_install makes a venv
# in the build folder and pip-installs the repository into it offline (a
# fixture: the other two need it); python_package compares the package's
# maps with the CLI's and PyTorch's (.pth and ONNX, per-image targets),
# and checks errors and threads; python_from_torch checks from_torch on a
# torchvision ResNet-18 at layer2.1.bn2. Not in sanitizer or fuzzing
# builds, whose instrumented library Python cannot load.
if(NOT GC_SANITIZE AND NOT GC_FUZZ AND GC_SHARED)
  set(GC_VENV ${PROJECT_BINARY_DIR}/python-venv)
  add_test(NAME python_install
    COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_python_install.py
            --venv ${GC_VENV} --source ${PROJECT_SOURCE_DIR} --build ${PROJECT_BINARY_DIR})
  set_tests_properties(python_install PROPERTIES FIXTURES_SETUP gradcam_python
    LABELS python TIMEOUT 300)
  add_test(NAME python_package
    COMMAND ${GC_VENV}/bin/python ${PROJECT_SOURCE_DIR}/tests/python/test_python_package.py
            --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
  add_test(NAME python_from_torch
    COMMAND ${GC_VENV}/bin/python ${PROJECT_SOURCE_DIR}/tests/python/test_python_from_torch.py)
  set_tests_properties(python_package python_from_torch PROPERTIES
    FIXTURES_REQUIRED gradcam_python LABELS python TIMEOUT 600)
endif()
