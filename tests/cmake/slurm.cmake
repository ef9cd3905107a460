# A Slurm job array (sbatch --array=0-3) explains a data set in shards on a
# private single-node Slurm; merged, equal to one process (issue 19). Needs
# root, slurm-wlm and munge; fails (never skips) without them.
add_test(NAME slurm_shards
  COMMAND ${GC_PY} ${PROJECT_SOURCE_DIR}/tests/python/test_slurm.py
          --gradcam $<TARGET_FILE:gradcam> --source ${PROJECT_SOURCE_DIR})
set_tests_properties(slurm_shards PROPERTIES TIMEOUT 400
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
