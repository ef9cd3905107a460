# onnx.cmake — C bindings for ONNX's protobuf schema, generated at build time
# by protoc-c from the onnx.proto that Debian's libonnx-dev installs, and
# linked into the library with libprotobuf-c. Nothing generated is committed.
find_program(GC_PROTOC_C protoc-c REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
find_path(GC_ONNX_PROTO_DIR onnx/onnx.proto REQUIRED
  HINTS /usr/include /usr/local/include)
set(GC_ONNX_GEN_DIR ${PROJECT_BINARY_DIR}/generated)
add_custom_command(
  OUTPUT ${GC_ONNX_GEN_DIR}/onnx/onnx.pb-c.c ${GC_ONNX_GEN_DIR}/onnx/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GC_ONNX_GEN_DIR}
  COMMAND ${GC_PROTOC_C} --c_out=${GC_ONNX_GEN_DIR} -I${GC_ONNX_PROTO_DIR}
          ${GC_ONNX_PROTO_DIR}/onnx/onnx.proto
  DEPENDS ${GC_ONNX_PROTO_DIR}/onnx/onnx.proto
  COMMENT "protoc-c: generating ONNX bindings"
  VERBATIM)
target_sources(gradcam_lib PRIVATE ${GC_ONNX_GEN_DIR}/onnx/onnx.pb-c.c)
target_include_directories(gradcam_lib PRIVATE ${GC_ONNX_GEN_DIR})
target_link_libraries(gradcam_lib PUBLIC PkgConfig::PROTOBUF_C)
