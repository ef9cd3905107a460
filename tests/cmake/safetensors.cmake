# safetensors (issue 4, item 5): the same resnet18 as .pth and .safetensors
# must give identical logits and maps through the CLI (needs /usr/bin/python3
# with python3-torch to convert the .pth), and the safetensors fuzz seeds
# replay through the fuzz target's code with a plain main(), as
# fuzz_replay.cmake does for the other targets.
add_test(NAME safetensors_cli
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_safetensors_cli.py
          --gradcam $<TARGET_FILE:gradcam>)
set_tests_properties(safetensors_cli PROPERTIES TIMEOUT 600)

add_executable(replay_safetensors ${PROJECT_SOURCE_DIR}/fuzz/fuzz_safetensors.c
  ${PROJECT_SOURCE_DIR}/fuzz/fuzz_common.c ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
target_include_directories(replay_safetensors PRIVATE ${PROJECT_SOURCE_DIR}/src
  ${PROJECT_SOURCE_DIR}/fuzz)
target_link_libraries(replay_safetensors PRIVATE gradcam_lib)
set(GC_ST_REPLAY_DIRS ${PROJECT_SOURCE_DIR}/fuzz/corpus/safetensors)
if(EXISTS ${PROJECT_SOURCE_DIR}/tests/regressions/safetensors)
  list(APPEND GC_ST_REPLAY_DIRS ${PROJECT_SOURCE_DIR}/tests/regressions/safetensors)
endif()
add_test(NAME fuzz_replay_safetensors COMMAND replay_safetensors ${GC_ST_REPLAY_DIRS})
