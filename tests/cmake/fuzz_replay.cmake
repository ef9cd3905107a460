# Replays every fuzz seed (fuzz/corpus/<target>/) and every crash file kept
# as a regression (tests/regressions/<target>/) through the fuzz target's
# code with a plain main(), so they run in every build (plain, ASan) and
# with any compiler; libFuzzer itself is only needed by fuzz/run_smoke.sh.
foreach(t pth pickle npy image description model onnx)
  add_executable(replay_${t} ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${t}.c
    ${PROJECT_SOURCE_DIR}/fuzz/fuzz_common.c ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
  target_include_directories(replay_${t} PRIVATE ${PROJECT_SOURCE_DIR}/src
    ${PROJECT_SOURCE_DIR}/fuzz)
  target_link_libraries(replay_${t} PRIVATE gradcam_lib)
  set(dirs ${PROJECT_SOURCE_DIR}/fuzz/corpus/${t})
  if(EXISTS ${PROJECT_SOURCE_DIR}/tests/regressions/${t})
    list(APPEND dirs ${PROJECT_SOURCE_DIR}/tests/regressions/${t})
  endif()
  add_test(NAME fuzz_replay_${t} COMMAND replay_${t} ${dirs})
endforeach()
