# CPU kernel tiers (src/ops/cpu.h): the op unit tests and the fixture
# parity test again under every tier this machine has but the best (which
# the plain tests run), forced with GC_CPU (test_gemm is not repeated: it
# calls every tier's kernels directly in one run); the same maps under every tier;
# clear errors for a bad GC_CPU; and no wide-vector instruction outside
# src/ops/x86/ in a portable build. Tiers the machine lacks are not
# registered at all (so none passes without running): the configure step
# asks the CPU (tests/tools/cpu_tiers.c).
set(GC_TIERS portable)
if(GC_X86_KERNELS AND NOT CMAKE_CROSSCOMPILING)
  try_run(GC_TIERS_RUN GC_TIERS_BUILT ${PROJECT_BINARY_DIR}/cpu_tiers
    SOURCES ${PROJECT_SOURCE_DIR}/tests/tools/cpu_tiers.c
    RUN_OUTPUT_VARIABLE GC_TIERS_OUT)
  if(GC_TIERS_BUILT AND GC_TIERS_RUN EQUAL 0)
    string(STRIP "${GC_TIERS_OUT}" GC_TIERS_OUT)
    string(REPLACE "\n" ";" GC_TIERS "${GC_TIERS_OUT}")
  endif()
endif()
list(GET GC_TIERS -1 GC_TIER_BEST)
message(STATUS "CPU kernel tiers to test: ${GC_TIERS} (best: ${GC_TIER_BEST})")

foreach(tier ${GC_TIERS})
  if(tier STREQUAL GC_TIER_BEST)
    continue()
  endif()
  foreach(unit test_ops test_onnx_ops test_kernels)
    add_test(NAME ${unit}_${tier} COMMAND ${unit})
    set_tests_properties(${unit}_${tier} PROPERTIES
      ENVIRONMENT GC_CPU=${tier} WORKING_DIRECTORY ${PROJECT_BINARY_DIR} LABELS tiers)
  endforeach()
  add_test(NAME parity_fixtures_${tier}
    COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_parity.py
            --gradcam $<TARGET_FILE:gradcam>
            --fixtures ${PROJECT_SOURCE_DIR}/tests/fixtures/parity)
  set_tests_properties(parity_fixtures_${tier} PROPERTIES
    ENVIRONMENT GC_CPU=${tier} LABELS "parity;tiers" TIMEOUT 600)
endforeach()

add_test(NAME cpu_tiers_cli
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_cpu_tiers.py
          --gradcam $<TARGET_FILE:gradcam>
          --fixtures ${PROJECT_SOURCE_DIR}/tests/fixtures/parity
          --tiers ${GC_TIERS})
set_tests_properties(cpu_tiers_cli PROPERTIES LABELS tiers TIMEOUT 600)

# The portable build's promise, checked on its objects. A -march=native
# build (GC_NATIVE) makes no such promise.
if(GC_X86_KERNELS AND NOT GC_NATIVE)
  add_test(NAME isa_objects
    COMMAND ${PROJECT_SOURCE_DIR}/tests/tools/check_isa.sh ${PROJECT_SOURCE_DIR}
            ${PROJECT_BINARY_DIR}/CMakeFiles/gradcam_lib.dir
            ${PROJECT_BINARY_DIR}/CMakeFiles/gradcam.dir)
  set_tests_properties(isa_objects PROPERTIES LABELS tiers)
endif()
