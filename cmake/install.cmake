# install.cmake — `cmake --install build --prefix P`: the CLI, the header,
# libgradcam.a and libgradcam.so.MAJOR (with its soname), gradcam.pc for
# pkg-config, and a CMake package whose gradcam::gradcam is the shared
# library. The static library is for pkg-config --static users: its private
# dependencies are listed in gradcam.pc, not re-found by the CMake package.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS gradcam RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/gradcam.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS gradcam_lib ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# gradcam.pc locates the prefix from its own folder, so an installed tree
# can be moved. Libs.private names the libraries libgradcam.a needs, as
# this build linked them (the OpenMP build of OpenBLAS by its folder, since
# it is not pkg-config's default): `pkg-config --static --libs gradcam`
# then links the static library against the system's shared ones. They are
# not Requires.private modules, whose --static expansion would ask for
# every dependency's own static dependencies (libcurl's ssh2, ldap, ...).
file(RELATIVE_PATH GC_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" GC_PC_TO_PREFIX "${GC_PC_TO_PREFIX}")
set(GC_PC_LIBS_PRIVATE ${DEPS_LDFLAGS} ${PROTOBUF_C_LDFLAGS} ${OpenMP_C_FLAGS} -lm)
list(REMOVE_DUPLICATES GC_PC_LIBS_PRIVATE)
list(JOIN GC_PC_LIBS_PRIVATE " " GC_PC_LIBS_PRIVATE)
configure_file(${PROJECT_SOURCE_DIR}/cmake/gradcam.pc.in
               ${PROJECT_BINARY_DIR}/gradcam.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gradcam.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(GC_SHARED)
  install(TARGETS gradcam_shared EXPORT gradcamTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set(GC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradcam)
  install(EXPORT gradcamTargets NAMESPACE gradcam:: DESTINATION ${GC_CMAKE_DIR})
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gradcamConfig.cmake.in
    ${PROJECT_BINARY_DIR}/gradcamConfig.cmake INSTALL_DESTINATION ${GC_CMAKE_DIR})
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/gradcamConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/gradcamConfig.cmake
                ${PROJECT_BINARY_DIR}/gradcamConfigVersion.cmake
          DESTINATION ${GC_CMAKE_DIR})
endif()
