# install.cmake — issue 18: `cmake --install` into a temporary prefix, and
# a C program built against it with pkg-config (shared and static) and with
# CMake's find_package. Not in sanitizer or fuzzing builds: their
# instrumented library cannot be linked or loaded by a plain program.
if(NOT GC_SANITIZE AND NOT GC_FUZZ AND GC_SHARED)
  add_test(NAME install_consumer
    COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_install.py
            --build ${PROJECT_BINARY_DIR} --source ${PROJECT_SOURCE_DIR})
  set_tests_properties(install_consumer PROPERTIES LABELS install TIMEOUT 300)
endif()
