// libFuzzer target for the control protocol: any request line gets exactly one
// well-formed answer, {"ok": true, ...} for a request the protocol accepts and
// {"ok": false, "error": "..."} otherwise, and an accepted request's fields are
// within the documented limits. The handler is the real request parser, with
// nothing carried out.

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "FuzzCheck.h"
#include "vmm/control/ControlRequest.h"
#include "vmm/control/ControlServer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  bool parsed = false;
  const nlohmann::json answer = vmm::answer_request(line, [&](const nlohmann::json& request) {
    const vmm::control::Request typed = vmm::control::parse_request(request);
    parsed = true;
    if (const auto* inject = std::get_if<vmm::control::Inject>(&typed)) {
      FUZZ_CHECK(!inject->line.empty() || request["line"].is_string());
      FUZZ_CHECK(inject->count <= vmm::control::kMaxInjectCount);
      FUZZ_CHECK(inject->interval_us <= vmm::control::kMaxIntervalUs);
    }
    return nlohmann::json::object();
  });
  FUZZ_CHECK(answer.is_object() && answer.contains("ok") && answer["ok"].is_boolean());
  FUZZ_CHECK(answer["ok"].get<bool>() == parsed);
  if (!parsed) FUZZ_CHECK(answer.contains("error") && answer["error"].is_string() && !answer["error"].get<std::string>().empty());
  // The answer goes back as one line: dumping it must not throw (invalid UTF-8
  // in an echoed field would) and must hold no raw newline.
  const std::string text = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  FUZZ_CHECK(text.find('\n') == std::string::npos);
  return 0;
}
