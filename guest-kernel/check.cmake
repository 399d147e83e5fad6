# check.cmake - build-time guards for rules the compiler cannot enforce.
# Run with -DNM= -DOBJDUMP= -DUSER_OBJ= -DELF=.

# Ring-3 code must not reach into supervisor pages.
execute_process(COMMAND ${NM} -u ${USER_OBJ}
  OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${USER_OBJ}")
endif()
if(NOT undefined STREQUAL "")
  message(FATAL_ERROR "user.o references symbols outside the user page:\n${undefined}")
endif()

# Instructions the guest must never contain: the kernel's own code never
# touches SSE registers (it saves them only for processes, with fxsave64 and
# fxrstor64 in kernel/proc.c, which KVM's instruction emulator handles), and
# the rest are not handled by the instruction emulator that runs ring 0.
# Mnemonics are matched after objdump's tab, so fxsave is not xsave.
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${ELF}
  OUTPUT_VARIABLE disasm RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objdump failed on ${ELF}")
endif()
foreach(bad "%xmm" "%ymm" "%zmm" "\tint3" "\tcmpxchg16b" "\txsave" "\txrstor")
  string(FIND "${disasm}" "${bad}" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "kernel image contains forbidden instruction/register: ${bad}")
  endif()
endforeach()
