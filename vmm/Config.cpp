#include "vmm/Config.h"

#include "vmm/debug/GdbEndpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "vmm/Errors.h"
#include "vmm/control/ControlRequest.h"
#include "vmm/Platform.h"

namespace vmm {

namespace {

using Json = nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw InputError(source_ + ": " + (path.empty() ? "/" : path) + ": " + why);
  }

  void expect_object(const Json& value, const std::string& path, const std::set<std::string>& keys) const {
    if (!value.is_object()) fail(path, "expected an object, got " + type_of(value));
    for (const auto& [key, unused] : value.items())
      if (!keys.count(key)) fail(path + "/" + key, "unknown key" + suggestion(keys));
  }

  std::string string(const Json& value, const std::string& path) const {
    if (!value.is_string()) fail(path, "expected a string, got " + type_of(value));
    return value.get<std::string>();
  }

  bool boolean(const Json& value, const std::string& path) const {
    if (!value.is_boolean()) fail(path, "expected true or false, got " + type_of(value));
    return value.get<bool>();
  }

  std::uint64_t unsigned_integer(const Json& value, const std::string& path) const {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer()) fail(path, "must not be negative");
    fail(path, "expected a non-negative integer, got " + type_of(value));
  }

  static std::string type_of(const Json& value) {
    if (value.is_number_float()) return "a fractional number";
    if (value.is_number()) return "a number";
    return std::string(value.type_name() == std::string("array") || value.type_name() == std::string("object")
                           ? "an "
                           : "a ") +
           value.type_name();
  }

 private:
  static std::string suggestion(const std::set<std::string>& keys) {
    std::string text = " (known keys:";
    for (const auto& key : keys) text += " " + key;
    return text + ")";
  }

  std::string source_;
};

Json parse_json(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& error) {
    // parse_error, and out_of_range for a number beyond a double (1e400).
    // nlohmann's message carries the line and column; strip its "[json.exception...]" prefix.
    std::string what = error.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw InputError(source + ": not valid JSON: " + what);
  }
}

bool names_a_line(const std::string& line, const std::vector<InterruptLineSpec>& lines) {
  for (const auto& spec : lines)
    if (spec.name == line || std::to_string(spec.gsi) == line) return true;
  return false;
}

// Why std::regex could not compile `pattern` in bounded time and memory, or
// empty: it expands {m,n} repetitions into copies of what they repeat, so
// nested ones multiply. One, up to ScenarioStep::kMaxRepeat, is enough to
// match a console line.
std::string unbounded_pattern(const std::string& pattern) {
  if (pattern.size() > ScenarioStep::kMaxPattern)
    return "longer than " + std::to_string(ScenarioStep::kMaxPattern) + " characters";
  if (std::count(pattern.begin(), pattern.end(), '(') > ScenarioStep::kMaxGroups)
    return "more than " + std::to_string(ScenarioStep::kMaxGroups) + " groups";
  int repeats = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;  // an escaped character is itself
      continue;
    }
    if (pattern[i] != '{' || i + 1 >= pattern.size() || !std::isdigit(static_cast<unsigned char>(pattern[i + 1])))
      continue;
    ++repeats;
    for (std::size_t j = i + 1; j < pattern.size() && pattern[j] != '}'; ++j) {
      unsigned long bound = 0;
      while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j])) && bound <= 1000000)
        bound = bound * 10 + static_cast<unsigned long>(pattern[j++] - '0');
      if (bound > ScenarioStep::kMaxRepeat)
        return "a {n} repetition above " + std::to_string(ScenarioStep::kMaxRepeat);
      if (j >= pattern.size() || pattern[j] == '}') break;
    }
  }
  if (repeats > 1) return "more than one {n} repetition";
  return "";
}

std::chrono::milliseconds step_timeout(const Reader& reader, const Json& step, const std::string& at) {
  if (!step.contains("timeout_ms")) return ScenarioStep::kDefaultTimeout;
  const std::uint64_t ms = reader.unsigned_integer(step["timeout_ms"], at + "/timeout_ms");
  if (ms == 0 || ms > 24ull * 3600 * 1000) reader.fail(at + "/timeout_ms", "must be between 1 and 86400000");
  return std::chrono::milliseconds(ms);
}

// The "scenario" key (vmm/scenario/ScenarioStep.h, docs/scenarios.md): each
// step an object with one action key (and timeout_ms for expect), checked
// here, so that a bad regex or pointer is an input error with its path.
std::vector<ScenarioStep> parse_scenario(const Reader& reader, const Json& entries, const std::string& path,
                                         const std::vector<InterruptLineSpec>& lines) {
  using Kind = ScenarioStep::Kind;
  if (!entries.is_array()) reader.fail(path, "expected an array, got " + Reader::type_of(entries));
  static const std::map<std::string, Kind> kinds = {
      {"expect", Kind::Expect}, {"send", Kind::Send},     {"inject", Kind::Inject}, {"check", Kind::Check},
      {"pause", Kind::Pause},   {"resume", Kind::Resume}, {"nmi", Kind::Nmi},       {"stop", Kind::Stop},
      {"exit", Kind::Exit}};
  std::vector<ScenarioStep> steps;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string at = path + "/" + std::to_string(i);
    const Json& entry = entries[i];
    if (!entry.is_object()) reader.fail(at, "expected an object, got " + Reader::type_of(entry));
    std::vector<std::string> actions;
    for (const auto& [key, unused] : entry.items())
      if (kinds.count(key)) actions.push_back(key);
    if (actions.size() != 1)
      reader.fail(at, "give exactly one of expect, send, inject, check, pause, resume, nmi, stop, exit");
    const std::string action = actions[0];
    ScenarioStep step;
    step.kind = kinds.at(action);
    step.where = at;
    const Json& value = entry[action];
    const std::string value_at = at + "/" + action;
    switch (step.kind) {
      case Kind::Expect:
        reader.expect_object(entry, at, {"expect", "timeout_ms"});
        step.text = reader.string(value, value_at);
        // std::regex compiles by recursion and expands repetitions: bounded
        // here, so no pattern can exhaust vmm's stack or memory.
        if (const std::string why = unbounded_pattern(step.text); !why.empty()) reader.fail(value_at, why);
        try {
          // ${n}, an earlier match's group, is put in (as literal text) when
          // the step starts; any literal stands in for it here.
          std::regex check(std::regex_replace(step.text, std::regex(R"(\$\{[0-9]+\})"), "x"), std::regex::ECMAScript);
        } catch (const std::regex_error& error) {
          reader.fail(value_at, std::string("not a regular expression (ECMAScript): ") + error.what());
        }
        step.timeout = step_timeout(reader, entry, at);
        break;
      case Kind::Send:
        reader.expect_object(entry, at, {"send"});
        step.text = reader.string(value, value_at);
        break;
      case Kind::Inject: {
        reader.expect_object(entry, at, {"inject"});
        reader.expect_object(value, value_at, {"line", "count", "interval_us", "wait_for_ack"});
        step.request = value;
        step.request["cmd"] = "inject";
        if (value.contains("line") && value["line"].is_string() && !names_a_line(value["line"].get<std::string>(), lines))
          reader.fail(value_at + "/line", "no interrupt line \"" + value["line"].get<std::string>() +
                                              "\" is declared in irq.lines");
        try {
          control::parse_request(step.request);
        } catch (const std::invalid_argument& error) {
          reader.fail(value_at, error.what());
        }
        break;
      }
      case Kind::Check:
        reader.expect_object(entry, at, {"check"});
        reader.expect_object(value, value_at, {"pointer", "equals", "min", "max"});
        if (!value.contains("pointer")) reader.fail(value_at + "/pointer", "missing");
        step.pointer = reader.string(value["pointer"], value_at + "/pointer");
        try {
          Json::json_pointer pointer(step.pointer);
        } catch (const Json::exception& error) {
          std::string what = error.what();
          if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
          reader.fail(value_at + "/pointer", "not a JSON pointer: " + what);
        }
        if (value.contains("equals")) step.equals = value["equals"];
        for (const char* bound : {"min", "max"}) {
          if (!value.contains(bound)) continue;
          if (!value[bound].is_number()) reader.fail(value_at + "/" + bound, "expected a number");
          (std::string(bound) == "min" ? step.min : step.max) = value[bound].get<double>();
        }
        if (!step.equals && !step.min && !step.max) reader.fail(value_at, "give equals, min or max");
        break;
      case Kind::Pause:
      case Kind::Resume:
      case Kind::Nmi:
      case Kind::Stop:
        reader.expect_object(entry, at, {action});
        if (!reader.boolean(value, value_at)) reader.fail(value_at, "must be true (leave the step out instead)");
        break;
      case Kind::Exit:
        reader.expect_object(entry, at, {"exit"});
        reader.expect_object(value, value_at, {"status", "timeout_ms"});
        if (value.contains("status")) {
          const std::uint64_t status = reader.unsigned_integer(value["status"], value_at + "/status");
          if (status > 255) reader.fail(value_at + "/status", "an exit status is 0-255");
          step.status = static_cast<int>(status);
        }
        step.timeout = step_timeout(reader, value, value_at);
        if (i + 1 != entries.size()) reader.fail(at, "exit must be the last step");
        break;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::vector<InjectEvent> parse_inject(const Reader& reader, const Json& entries, const std::string& path,
                                      const std::vector<InterruptLineSpec>& lines) {
  if (!entries.is_array()) reader.fail(path, "expected an array, got " + Reader::type_of(entries));
  std::vector<InjectEvent> events;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string at = path + "/" + std::to_string(i);
    const Json& entry = entries[i];
    reader.expect_object(entry, at, {"at_ms", "line", "count", "interval_us", "wait_for_ack", "serial"});
    InjectEvent event;
    if (entry.contains("at_ms"))
      event.at = std::chrono::milliseconds(reader.unsigned_integer(entry["at_ms"], at + "/at_ms"));
    const bool is_line = entry.contains("line"), is_serial = entry.contains("serial");
    if (is_line == is_serial) reader.fail(at, "give either \"line\" or \"serial\"");
    if (is_serial) {
      event.serial = reader.string(entry["serial"], at + "/serial");
      if (entry.contains("count") || entry.contains("interval_us") || entry.contains("wait_for_ack"))
        reader.fail(at, "count, interval_us and wait_for_ack apply to interrupt lines, not serial input");
    } else {
      event.line = entry["line"].is_number_unsigned() ? std::to_string(entry["line"].get<std::uint64_t>())
                                                      : reader.string(entry["line"], at + "/line");
      if (!names_a_line(event.line, lines))
        reader.fail(at + "/line", "no interrupt line \"" + event.line + "\" is declared in irq.lines");
      if (entry.contains("count")) event.count = reader.unsigned_integer(entry["count"], at + "/count");
      if (event.count == 0 || event.count > 100'000'000) reader.fail(at + "/count", "must be between 1 and 100000000");
      if (entry.contains("interval_us"))
        event.interval = std::chrono::microseconds(reader.unsigned_integer(entry["interval_us"], at + "/interval_us"));
      if (event.count > 1 && event.interval.count() == 0) reader.fail(at + "/interval_us", "a burst needs an interval");
      if (entry.contains("wait_for_ack")) event.wait_for_ack = reader.boolean(entry["wait_for_ack"], at + "/wait_for_ack");
    }
    events.push_back(std::move(event));
  }
  return events;
}

std::filesystem::path resolve(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path value(path);
  return value.is_absolute() ? value : base_dir / value;
}

}  // namespace

SerialConfig parse_serial_option(const std::string& value) {
  SerialConfig serial;
  const auto colon = value.find(':');
  const std::string kind = value.substr(0, colon);
  const std::string path = colon == std::string::npos ? "" : value.substr(colon + 1);
  if (kind == "stdio" && colon == std::string::npos) return serial;
  if ((kind == "file" || kind == "socket") && !path.empty()) {
    serial.backend = kind == "file" ? SerialConfig::Backend::File : SerialConfig::Backend::Socket;
    serial.path = std::filesystem::absolute(path);
    return serial;
  }
  throw InputError("--serial " + value + ": expected stdio, file:PATH or socket:PATH");
}

void validate_memory_mib(std::uint64_t mib, const std::string& where) {
  if (mib < VmConfig::kMinMemoryMib || mib > VmConfig::kMaxMemoryMib)
    throw InputError(where + ": must be between " + std::to_string(VmConfig::kMinMemoryMib) + " and " +
                     std::to_string(VmConfig::kMaxMemoryMib) + " MiB, got " + std::to_string(mib));
}

namespace {
constexpr const char* kTraceBufferRange = "must be between 0.0625 (64 KiB) and 4096 MiB";
bool trace_buffer_in_range(double mib) {
  return mib >= TraceConfig::kMinBufferMib && mib <= TraceConfig::kMaxBufferMib;
}
}  // namespace

void validate_vcpus(long long vcpus, const std::string& where) {
  if (vcpus < 1 || vcpus > VmConfig::kMaxVcpus)
    throw InputError(where + ": must be between 1 and " + std::to_string(VmConfig::kMaxVcpus) + ", got " +
                     std::to_string(vcpus));
}

VmConfig parse_config(std::string_view json_text, const std::string& source, const std::filesystem::path& base_dir) {
  const Json root = parse_json(json_text, source);
  const Reader reader(source);
  reader.expect_object(root, "",
                       {"kernel", "cmdline", "modules", "initrd", "memory_mib", "vcpus", "timeout_ms", "serial", "pit", "irq", "inject", "scenario", "control", "seccomp", "gdb", "trace", "cpuid", "acpi"});

  VmConfig config;
  if (root.contains("kernel")) config.kernel = resolve(base_dir, reader.string(root["kernel"], "/kernel"));
  if (root.contains("cmdline")) config.cmdline = reader.string(root["cmdline"], "/cmdline");
  if (root.contains("memory_mib")) {
    config.memory_mib = reader.unsigned_integer(root["memory_mib"], "/memory_mib");
    validate_memory_mib(config.memory_mib, source + ": /memory_mib");
  }
  if (root.contains("vcpus")) {
    const std::uint64_t vcpus = reader.unsigned_integer(root["vcpus"], "/vcpus");
    validate_vcpus(static_cast<long long>(std::min<std::uint64_t>(vcpus, 1u << 30)), source + ": /vcpus");
    config.vcpus = static_cast<unsigned>(vcpus);
  }
  if (root.contains("timeout_ms")) {
    const std::uint64_t ms = reader.unsigned_integer(root["timeout_ms"], "/timeout_ms");
    if (ms > 365ull * 24 * 3600 * 1000) reader.fail("/timeout_ms", "is longer than a year");
    config.timeout = std::chrono::milliseconds(ms);
  }
  if (root.contains("initrd")) config.initrd = resolve(base_dir, reader.string(root["initrd"], "/initrd"));
  if (root.contains("modules")) {
    const Json& modules = root["modules"];
    if (!modules.is_array()) reader.fail("/modules", "expected an array, got " + Reader::type_of(modules));
    for (std::size_t i = 0; i < modules.size(); ++i) {
      const std::string path = "/modules/" + std::to_string(i);
      const Json& module = modules[i];
      ModuleConfig entry;
      if (module.is_string()) {
        entry.path = resolve(base_dir, module.get<std::string>());
      } else {
        reader.expect_object(module, path, {"path", "cmdline"});
        if (!module.contains("path")) reader.fail(path + "/path", "missing");
        entry.path = resolve(base_dir, reader.string(module["path"], path + "/path"));
        if (module.contains("cmdline")) entry.cmdline = reader.string(module["cmdline"], path + "/cmdline");
      }
      if (entry.cmdline.empty()) entry.cmdline = entry.path.filename().string();
      config.modules.push_back(std::move(entry));
    }
  }
  if (root.contains("serial")) {
    const Json& serial = root["serial"];
    reader.expect_object(serial, "/serial", {"backend", "path"});
    if (serial.contains("backend")) {
      const std::string backend = reader.string(serial["backend"], "/serial/backend");
      if (backend == "stdio")
        config.serial.backend = SerialConfig::Backend::Stdio;
      else if (backend == "file")
        config.serial.backend = SerialConfig::Backend::File;
      else if (backend == "socket")
        config.serial.backend = SerialConfig::Backend::Socket;
      else
        reader.fail("/serial/backend", "unknown backend \"" + backend + "\" (known: stdio, file, socket)");
    }
    if (serial.contains("path")) config.serial.path = resolve(base_dir, reader.string(serial["path"], "/serial/path"));
    if (config.serial.backend != SerialConfig::Backend::Stdio && config.serial.path.empty())
      reader.fail("/serial/path", "the " + reader.string(serial["backend"], "") + " backend needs a path");
  }
  if (root.contains("pit")) {
    const Json& pit = root["pit"];
    reader.expect_object(pit, "/pit", {"backend"});
    if (pit.contains("backend")) {
      const std::string backend = reader.string(pit["backend"], "/pit/backend");
      if (backend == "user")
        config.pit.backend = PitConfig::Backend::User;
      else if (backend == "kvm")
        config.pit.backend = PitConfig::Backend::Kvm;
      else
        reader.fail("/pit/backend", "unknown backend \"" + backend + "\" (known: user, kvm)");
    }
  }
  if (root.contains("irq")) {
    const Json& irq = root["irq"];
    reader.expect_object(irq, "/irq", {"lines"});
    if (irq.contains("lines")) {
      const Json& lines = irq["lines"];
      if (!lines.is_array()) reader.fail("/irq/lines", "expected an array, got " + Reader::type_of(lines));
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string path = "/irq/lines/" + std::to_string(i);
        const Json& line = lines[i];
        reader.expect_object(line, path, {"name", "gsi", "trigger", "msi"});
        InterruptLineSpec spec;
        if (!line.contains("name")) reader.fail(path + "/name", "missing");
        spec.name = reader.string(line["name"], path + "/name");
        if (!line.contains("gsi")) reader.fail(path + "/gsi", "missing");
        spec.gsi = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(reader.unsigned_integer(line["gsi"], path + "/gsi"), UINT32_MAX));
        if (line.contains("trigger")) {
          const std::string trigger = reader.string(line["trigger"], path + "/trigger");
          if (trigger == "edge")
            spec.trigger = Trigger::Edge;
          else if (trigger == "level")
            spec.trigger = Trigger::Level;
          else
            reader.fail(path + "/trigger", "unknown trigger \"" + trigger + "\" (known: edge, level)");
        }
        if (line.contains("msi")) {
          const Json& msi = line["msi"];
          reader.expect_object(msi, path + "/msi", {"apic_id", "vector"});
          if (!msi.contains("vector")) reader.fail(path + "/msi/vector", "missing");
          MsiDestination destination{0, 0};
          if (msi.contains("apic_id"))
            destination.apic_id = static_cast<std::uint32_t>(
                std::min<std::uint64_t>(reader.unsigned_integer(msi["apic_id"], path + "/msi/apic_id"), UINT32_MAX));
          destination.vector = static_cast<std::uint32_t>(
              std::min<std::uint64_t>(reader.unsigned_integer(msi["vector"], path + "/msi/vector"), UINT32_MAX));
          spec.msi = destination;
        }
        config.irq_lines.push_back(std::move(spec));
      }
      try {
        InterruptLines::validate(config.irq_lines, platform::device_gsis());
      } catch (const std::invalid_argument& error) {
        const std::string what = error.what();
        const auto colon = what.find(": ");
        reader.fail("/irq/lines/" + what.substr(0, colon), what.substr(colon + 2));
      }
    }
  }
  if (root.contains("control")) config.control = resolve(base_dir, reader.string(root["control"], "/control"));
  if (root.contains("seccomp")) config.seccomp = reader.boolean(root["seccomp"], "/seccomp");
  if (root.contains("acpi")) config.acpi = reader.boolean(root["acpi"], "/acpi");
  if (root.contains("gdb")) {
    const Json& gdb = root["gdb"];
    reader.expect_object(gdb, "/gdb", {"endpoint", "wait"});
    if (!gdb.contains("endpoint")) reader.fail("/gdb/endpoint", "missing");
    config.gdb = reader.string(gdb["endpoint"], "/gdb/endpoint");
    if (!debug::parse_gdb_endpoint(config.gdb))
      reader.fail("/gdb/endpoint", std::string("expected ") + debug::kGdbEndpointForms + ", got \"" + config.gdb + "\"");
    if (gdb.contains("wait")) config.gdb_wait = reader.boolean(gdb["wait"], "/gdb/wait");
  }
  if (root.contains("trace")) {
    const Json& trace = root["trace"];
    reader.expect_object(trace, "/trace", {"file", "buffer_mib"});
    if (!trace.contains("file")) reader.fail("/trace/file", "missing");
    const std::string file = reader.string(trace["file"], "/trace/file");
    if (file.empty()) reader.fail("/trace/file", "must not be empty");
    config.trace.file = resolve(base_dir, file);
    if (trace.contains("buffer_mib")) {
      if (!trace["buffer_mib"].is_number()) reader.fail("/trace/buffer_mib", "expected a number of MiB");
      config.trace.buffer_mib = trace["buffer_mib"].get<double>();
      if (!trace_buffer_in_range(config.trace.buffer_mib)) reader.fail("/trace/buffer_mib", kTraceBufferRange);
    }
  }
  if (root.contains("cpuid")) {
    const Json& cpuid = root["cpuid"];
    reader.expect_object(cpuid, "/cpuid", {"hide_hypervisor", "clear"});
    if (cpuid.contains("hide_hypervisor"))
      config.cpuid.hide_hypervisor = reader.boolean(cpuid["hide_hypervisor"], "/cpuid/hide_hypervisor");
    if (cpuid.contains("clear")) {
      const Json& clear = cpuid["clear"];
      if (!clear.is_array()) reader.fail("/cpuid/clear", "expected an array of CPU feature names");
      for (std::size_t i = 0; i < clear.size(); ++i) {
        const std::string path = "/cpuid/clear/" + std::to_string(i);
        const std::string name = reader.string(clear[i], path);
        if (!CpuidFilter::find(name)) {
          std::string known;
          for (const auto& feature : CpuidFilter::features()) known += (known.empty() ? "" : " ") + std::string(feature.name);
          reader.fail(path, "unknown CPU feature \"" + name + "\" (known: " + known + ")");
        }
        config.cpuid.clear.push_back(name);
      }
    }
  }
  if (root.contains("inject")) config.inject = parse_inject(reader, root["inject"], "/inject", config.irq_lines);
  if (root.contains("scenario"))
    config.scenario = parse_scenario(reader, root["scenario"], "/scenario", config.irq_lines);
  return config;
}

std::vector<InjectEvent> parse_inject_file(std::string_view json_text, const std::string& source,
                                           const std::vector<InterruptLineSpec>& lines) {
  const Json root = parse_json(json_text, source);
  const Reader reader(source);
  if (root.is_object()) {
    reader.expect_object(root, "", {"inject"});
    if (!root.contains("inject")) reader.fail("/inject", "missing");
    return parse_inject(reader, root["inject"], "/inject", lines);
  }
  return parse_inject(reader, root, "", lines);
}

void validate_trace_buffer_mib(double mib, const std::string& where) {
  if (!trace_buffer_in_range(mib)) throw InputError(where + ": " + kTraceBufferRange);
}

}  // namespace vmm
