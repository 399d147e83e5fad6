#pragma once
// One step of a scenario (the config's "scenario" key, docs/scenarios.md):
// what vmm waits for, does, or checks against the live VM, in order.
//
//   {"expect": "REGEX", "timeout_ms": N}   the console's output since the last
//                                          match matches (ECMAScript syntax, as
//                                          std::regex has it); its groups are
//                                          ${1}, ${2}... for later steps
//   {"send": "TEXT"}                       text to the serial input (${n} replaced)
//   {"inject": {"line": ..., "count": ..., "interval_us": ..., "wait_for_ack": ...}}
//                                          as the control socket's inject
//   {"check": {"pointer": "/json/pointer", "equals": V | "min": A, "max": B}}
//                                          the live stats (vmm ctl stats --json)
//   {"pause": true} {"resume": true} {"nmi": true} {"stop": true}
//   {"exit": {"status": N, "timeout_ms": N}}
//                                          the run ends, with this status (last)

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vmm {

struct ScenarioStep {
  enum class Kind { Expect, Send, Inject, Check, Pause, Resume, Nmi, Stop, Exit };
  static constexpr std::chrono::milliseconds kDefaultTimeout{30000};
  // std::regex compiles and matches by recursion: what vmm accepts is bounded.
  static constexpr std::size_t kMaxPattern = 1024;
  static constexpr long kMaxGroups = 32;
  static constexpr unsigned long kMaxRepeat = 100;  // one {m,n} at most, m and n up to this

  Kind kind = Kind::Expect;
  std::string text;                           // expect: the pattern; send: the text
  std::chrono::milliseconds timeout{kDefaultTimeout};  // expect, exit
  nlohmann::json request;                     // inject: the control request
  std::string pointer;                        // check
  std::optional<nlohmann::json> equals;       // check
  std::optional<double> min, max;             // check
  std::optional<int> status;                  // exit: none = any status
  std::string where;                          // its JSON path in the config, for messages

  // What it waits for or does, in a few words: "expect /login: /".
  std::string describe() const;
};

}  // namespace vmm
