# Static musl programs for a guest's initrd: the bundled kernel runs them from
# a newc cpio (`vmm run --initrd progs.cpio --cmdline "init=/bin/prog ..."`),
# and being static they run on the host as they are, for a side-by-side run.
#
#   vmm_guest_programs(<target> OUTPUT <cpio> SOURCES a.c b.c ...)
#
# compiles each C file with `musl-gcc -static -O2 -Wall -Wextra -Werror` into
# bin/<name> (the file name without .c) of a staging folder,
# ${CMAKE_CURRENT_BINARY_DIR}/<target>, and packs them with `cpio -o -H newc`
# as the entries `bin` and `bin/<name>` into <cpio>. The custom target
# <target> (built by ALL) makes the archive; its properties
# VMM_GUEST_PROGRAMS_DIR (the staging folder, whose bin/ holds the binaries)
# and VMM_GUEST_PROGRAMS_CPIO (the archive) say where things are.
# tools/mkinitrd does the same outside CMake.
#
# Without musl-gcc or cpio (tools/setup installs Debian's musl-tools and cpio)
# the function creates no target: VMM_GUEST_PROGRAMS_FOUND is false and
# VMM_GUEST_PROGRAMS_MISSING says what is missing, for a test to skip with.

find_program(MUSL_GCC musl-gcc)
find_program(CPIO cpio)
set(missing)
if(NOT MUSL_GCC)
  list(APPEND missing "musl-gcc (Debian's musl-tools)")
endif()
if(NOT CPIO)
  list(APPEND missing "cpio")
endif()
if(missing)
  list(JOIN missing " and " missing)
  set(VMM_GUEST_PROGRAMS_FOUND FALSE)
  set(VMM_GUEST_PROGRAMS_MISSING "${missing} not found: run tools/setup")
  message(STATUS "Guest programs: not built, ${VMM_GUEST_PROGRAMS_MISSING}")
else()
  set(VMM_GUEST_PROGRAMS_FOUND TRUE)
  set(VMM_GUEST_PROGRAMS_MISSING "")
endif()
unset(missing)

set(VMM_GUEST_PROGRAM_FLAGS -static -O2 -Wall -Wextra -Werror)

function(vmm_guest_programs target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT" "SOURCES")
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_OUTPUT OR NOT ARG_SOURCES)
    message(FATAL_ERROR "usage: vmm_guest_programs(<target> OUTPUT <cpio> SOURCES a.c b.c ...)")
  endif()
  if(NOT VMM_GUEST_PROGRAMS_FOUND)
    return()
  endif()
  set(staging ${CMAKE_CURRENT_BINARY_DIR}/${target})
  file(MAKE_DIRECTORY ${staging}/bin)
  get_filename_component(output ${ARG_OUTPUT} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  get_filename_component(output_dir ${output} DIRECTORY)
  file(MAKE_DIRECTORY ${output_dir})

  set(binaries)
  set(names)
  set(entries "bin\n")
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(source ${source} ABSOLUTE)
    get_filename_component(name ${source} NAME_WE)
    if(name IN_LIST names)
      message(FATAL_ERROR "vmm_guest_programs(${target}): two sources make bin/${name}")
    endif()
    list(APPEND names ${name})
    set(binary ${staging}/bin/${name})
    add_custom_command(
      OUTPUT ${binary}
      COMMAND ${MUSL_GCC} ${VMM_GUEST_PROGRAM_FLAGS} -o ${binary} ${source}
      DEPENDS ${source}
      COMMENT "Building the guest program bin/${name} (musl, static)"
      VERBATIM)
    list(APPEND binaries ${binary})
    string(APPEND entries "bin/${name}\n")
  endforeach()

  # The archive's entries, in order; rewritten only when the list changes.
  set(list_file ${staging}/cpio-entries.txt)
  file(GENERATE OUTPUT ${list_file} CONTENT "${entries}")
  add_custom_command(
    OUTPUT ${output}
    COMMAND sh -c "\"$0\" --quiet -o -H newc < \"$1\" > \"$2.part\" && mv \"$2.part\" \"$2\""
            ${CPIO} ${list_file} ${output}
    DEPENDS ${binaries} ${list_file}
    WORKING_DIRECTORY ${staging}
    COMMENT "Packing ${target} into ${output}"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${output})
  set_target_properties(${target} PROPERTIES VMM_GUEST_PROGRAMS_DIR ${staging} VMM_GUEST_PROGRAMS_CPIO ${output})
endfunction()
