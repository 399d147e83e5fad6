#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ (a build directory of
# its own), replays the saved reproducers of tests/fuzz/regressions/, then runs
# each fuzzer for a bounded time. Exits non-zero if any input crashes.
#
#   tests/fuzz/run.sh [SECONDS_PER_FUZZER]     (default 60)
#
# The corpus lives in build-fuzz/corpus/<fuzzer>/ and grows from run to run;
# crash inputs land in build-fuzz/artifacts/. Keep a crash that shows a model
# bug in tests/fuzz/regressions/, named <fuzzer prefix>-<what breaks>.
# VMM_FUZZ_TRACE=1 prints each step of a run.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS_PER_FUZZER]" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$root/build-fuzz"
jobs="${JOBS:-2}"

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 2; }

# Only the fuzz targets are built: the rest of the tree (guest kernel, vmm)
# is configured but not compiled with clang.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DVMM_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
fuzzers=(pit_fuzzer uart_fuzzer config_fuzzer multiboot_fuzzer linux_loader_fuzzer control_fuzzer mptable_fuzzer gdb_fuzzer
         trace_fuzzer)
cmake --build "$build" --target "${fuzzers[@]}" -j "$jobs"

status=0
declare -A prefix=([pit_fuzzer]=pit [uart_fuzzer]=uart [config_fuzzer]=config [multiboot_fuzzer]=multiboot
                   [linux_loader_fuzzer]=linux [control_fuzzer]=control [mptable_fuzzer]=mptable [gdb_fuzzer]=gdb [trace_fuzzer]=trace)
for fuzzer in "${fuzzers[@]}"; do
  binary="$build/tests/fuzz/$fuzzer"
  corpus="$build/corpus/$fuzzer"
  artifacts="$build/artifacts"
  mkdir -p "$corpus" "$artifacts"
  # The kept seeds (tests/fuzz/corpus/<prefix>/) start every run's corpus.
  [ -d "$root/tests/fuzz/corpus/${prefix[$fuzzer]}" ] && cp -n "$root/tests/fuzz/corpus/${prefix[$fuzzer]}"/* "$corpus/" 2>/dev/null || true

  shopt -s nullglob
  regressions=("$root"/tests/fuzz/regressions/"${prefix[$fuzzer]}"-*)
  shopt -u nullglob
  if [ "${#regressions[@]}" -gt 0 ]; then
    echo "== $fuzzer: ${#regressions[@]} saved reproducer(s)"
    for input in "${regressions[@]}"; do
      if "$binary" "$input" >"$artifacts/$(basename "$input").log" 2>&1; then
        echo "   ok      $(basename "$input")"
      else
        echo "   CRASH   $(basename "$input"): $(grep -m1 -E 'invariant broken|ERROR|runtime error' "$artifacts/$(basename "$input").log" || true)"
        status=1
      fi
    done
  fi

  echo "== $fuzzer: fuzzing for ${seconds}s"
  log="$artifacts/$fuzzer.log"
  if "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$fuzzer-" >"$log" 2>&1; then
    echo "   no crash; $(grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log" | tr -s ' ' | tr '\n' ' ')"
  else
    echo "   CRASH: $(grep -m1 -E 'invariant broken|ERROR|runtime error|deadly signal|timeout' "$log" || true)"
    grep -E 'Test unit written to' "$log" | sed 's/^/   /' || true
    status=1
  fi
done
exit "$status"
