# Run at every build (the vmm_build_info target): writes OUTPUT from
# vmm/BuildInfo.cpp.in with the project version and `git describe` of
# SOURCE_DIR. configure_file leaves OUTPUT untouched when nothing changed, so
# an unchanged tree relinks nothing.
set(VMM_GIT_DESCRIPTION "")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(
    COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --tags
    WORKING_DIRECTORY "${SOURCE_DIR}"
    OUTPUT_VARIABLE VMM_GIT_DESCRIPTION
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET)
endif()
# A source tarball, or git refusing a tree owned by someone else: say so.
if(VMM_GIT_DESCRIPTION STREQUAL "")
  set(VMM_GIT_DESCRIPTION "unknown")
endif()
configure_file("${SOURCE_DIR}/vmm/BuildInfo.cpp.in" "${OUTPUT}" @ONLY)
