#include "vmm/Config.h"

#include <gtest/gtest.h>

#include "vmm/Errors.h"

namespace vmm {
namespace {

VmConfig parse(const std::string& text) { return parse_config(text, "vm.json", "/configs"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(Config, DefaultsWhenEmpty) {
  const auto config = parse("{}");
  EXPECT_FALSE(config.kernel.has_value());
  EXPECT_EQ(config.memory_mib, 128u);
  EXPECT_EQ(config.vcpus, 1u);
  EXPECT_EQ(config.timeout.count(), 0);
  EXPECT_EQ(config.serial.backend, SerialConfig::Backend::Stdio);
  EXPECT_EQ(config.pit.backend, PitConfig::Backend::User);
  EXPECT_TRUE(config.acpi);
  EXPECT_TRUE(config.seccomp);
}

TEST(Config, AcpiCanBeTurnedOff) {
  EXPECT_FALSE(parse(R"({"acpi": false})").acpi);
  EXPECT_TRUE(parse(R"({"acpi": true})").acpi);
}

TEST(Config, ResolvesRelativePathsAgainstTheConfigFolder) {
  const auto config = parse(R"({"kernel": "k.elf", "modules": ["initrd.img", {"path": "/abs/m", "cmdline": "m a=1"}],
                               "serial": {"backend": "file", "path": "out/serial.log"}})");
  EXPECT_EQ(config.kernel->string(), "/configs/k.elf");
  ASSERT_EQ(config.modules.size(), 2u);
  EXPECT_EQ(config.modules[0].path.string(), "/configs/initrd.img");
  EXPECT_EQ(config.modules[0].cmdline, "initrd.img");
  EXPECT_EQ(config.modules[1].path.string(), "/abs/m");
  EXPECT_EQ(config.modules[1].cmdline, "m a=1");
  EXPECT_EQ(config.serial.path.string(), "/configs/out/serial.log");
}

TEST(Config, ErrorsNameTheJsonPath) {
  struct Case {
    const char* json;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"vcpu": 2})", "vm.json: /vcpu: unknown key"},
      {R"({"vcpus": "2"})", "vm.json: /vcpus: expected a non-negative integer, got a string"},
      {R"({"vcpus": 0})", "vm.json: /vcpus: must be between 1 and 64"},
      {R"({"vcpus": 65})", "vm.json: /vcpus: must be between 1 and 64"},
      {R"({"vcpus": -1})", "vm.json: /vcpus: must not be negative"},
      {R"({"memory_mib": 1})", "vm.json: /memory_mib: must be between 2 and"},
      {R"({"memory_mib": 1.5})", "vm.json: /memory_mib: expected a non-negative integer, got a fractional number"},
      {R"({"cmdline": 5})", "vm.json: /cmdline: expected a string, got a number"},
      {R"({"acpi": "off"})", "vm.json: /acpi: expected true or false, got a string"},
      {R"({"modules": {}})", "vm.json: /modules: expected an array, got an object"},
      {R"({"modules": [{"cmdline": "x"}]})", "vm.json: /modules/0/path: missing"},
      {R"({"modules": [{"path": "a", "size": 1}]})", "vm.json: /modules/0/size: unknown key"},
      {R"({"serial": {"backend": "tcp"}})", "vm.json: /serial/backend: unknown backend \"tcp\""},
      {R"({"serial": {"backend": "file"}})", "vm.json: /serial/path: the file backend needs a path"},
      {R"({"serial": {"backend": "socket"}})", "vm.json: /serial/path: the socket backend needs a path"},
      {R"({"pit": {"backend": "hpet"}})", "vm.json: /pit/backend: unknown backend \"hpet\" (known: user, kvm)"},
      {R"({"pit": {"mode": 2}})", "vm.json: /pit/mode: unknown key"},
      {R"({"irq": {"lines": [{"name": "a", "gsi": 5}, {"name": "b", "gsi": 4}]}})",
       "vm.json: /irq/lines/1: GSI 4 belongs to the COM1 UART"},
      {R"({"irq": {"lines": [{"name": "a", "gsi": 24, "msi": {"vector": 8}}]}})",
       "vm.json: /irq/lines/0: MSI vector 8 is outside 32-255"},
      {R"({"irq": {"lines": [{"name": "a", "gsi": 5, "trigger": "rising"}]}})",
       "vm.json: /irq/lines/0/trigger: unknown trigger \"rising\""},
      {R"({"irq": {"lines": [{"gsi": 5}]}})", "vm.json: /irq/lines/0/name: missing"},
      {R"({"timeout_ms": true})", "vm.json: /timeout_ms: expected a non-negative integer, got a boolean"},
      {R"([1, 2])", "vm.json: /: expected an object, got an array"},
      {R"({"vcpus": 1,})", "vm.json: not valid JSON: "},
      {"", "vm.json: not valid JSON: "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(error_of(c.json).rfind(c.expected, 0), 0u) << error_of(c.json);
  }
}

// Scenario steps are checked when the config is read: a bad step is an input
// error (status 2) that names its JSON path.
TEST(Config, ScenarioStepsAreCheckedWithTheirPaths) {
  const std::string lines = R"("irq": {"lines": [{"name": "nic", "gsi": 5}]}, )";
  const struct {
    std::string json;
    const char* expected;
  } cases[] = {
      {R"({"scenario": {}})", "vm.json: /scenario: expected an array, got an object"},
      {R"({"scenario": [{"expect": "(a"}]})", "vm.json: /scenario/0/expect: not a regular expression (ECMAScript)"},
      {R"({"scenario": [{"expect": "a", "timeout_ms": 0}]})", "vm.json: /scenario/0/timeout_ms: must be between 1"},
      {R"({"scenario": [{"expect": "a{1000}"}]})", "vm.json: /scenario/0/expect: a {n} repetition above 100"},
      {R"({"scenario": [{"expect": "(a{10}){10}"}]})", "vm.json: /scenario/0/expect: more than one {n} repetition"},
      {R"json({"scenario": [{"expect": "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))"}]})json",
       "vm.json: /scenario/0/expect: more than 32 groups"},
      {R"({"scenario": [{"send": "a", "expect": "b"}]})", "vm.json: /scenario/0: give exactly one of expect"},
      {R"({"scenario": [{"wait": 5}]})", "vm.json: /scenario/0: give exactly one of expect"},
      {R"({"scenario": [{"send": "a", "timeout_ms": 5}]})", "vm.json: /scenario/0/timeout_ms: unknown key"},
      {R"({"scenario": [{"check": {"pointer": "lines"}}]})", "vm.json: /scenario/0/check/pointer: not a JSON pointer"},
      {R"({"scenario": [{"check": {"pointer": "/lines"}}]})", "vm.json: /scenario/0/check: give equals, min or max"},
      {R"({"scenario": [{"check": {"pointer": "/a", "min": "1"}}]})", "vm.json: /scenario/0/check/min: expected a number"},
      {R"({"scenario": [{"inject": {"line": "disk"}}]})", "vm.json: /scenario/0/inject/line: no interrupt line \"disk\""},
      {"{" + lines + R"("scenario": [{"inject": {"line": "nic", "count": -1}}]})",
       "vm.json: /scenario/0/inject: count must be a non-negative integer"},
      {"{" + lines + R"("scenario": [{"inject": {"line": "nic", "counts": 2}}]})", "vm.json: /scenario/0/inject/counts: unknown key"},
      {R"({"scenario": [{"pause": false}]})", "vm.json: /scenario/0/pause: must be true"},
      {R"({"scenario": [{"exit": {"status": 256}}]})", "vm.json: /scenario/0/exit/status: an exit status is 0-255"},
      {R"({"scenario": [{"exit": {}}, {"stop": true}]})", "vm.json: /scenario/0: exit must be the last step"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(error_of(c.json).rfind(c.expected, 0), 0u) << error_of(c.json);
  }
  const auto config = parse("{" + lines + R"json("scenario": [
      {"expect": "waiter id=(\\d+)", "timeout_ms": 5000}, {"send": "ls\n"},
      {"inject": {"line": "nic", "count": 3, "interval_us": 100, "wait_for_ack": true}},
      {"check": {"pointer": "/lines/nic/delivered", "min": 3}}, {"expect": "id=${1} done"},
      {"nmi": true}, {"exit": {"status": 0}}]})json");
  ASSERT_EQ(config.scenario.size(), 7u);
  EXPECT_EQ(config.scenario[0].kind, ScenarioStep::Kind::Expect);
  EXPECT_EQ(config.scenario[0].timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(config.scenario[1].text, "ls\n");
  EXPECT_EQ(config.scenario[2].request["count"], 3);
  EXPECT_EQ(config.scenario[3].pointer, "/lines/nic/delivered");
  EXPECT_EQ(*config.scenario[3].min, 3.0);
  EXPECT_EQ(config.scenario[4].timeout, ScenarioStep::kDefaultTimeout);
  EXPECT_EQ(config.scenario[6].status, 0);
  EXPECT_EQ(config.scenario[6].describe(), "exit with status 0");
  EXPECT_EQ(config.scenario[3].where, "/scenario/3");
}

TEST(Config, InterruptLines) {
  const auto config = parse(R"({"irq": {"lines": [
      {"name": "nic", "gsi": 5},
      {"name": "disk", "gsi": 17, "trigger": "level"},
      {"name": "msi", "gsi": 24, "msi": {"apic_id": 0, "vector": 80}}]}})");
  ASSERT_EQ(config.irq_lines.size(), 3u);
  EXPECT_EQ(config.irq_lines[0].trigger, Trigger::Edge);
  EXPECT_EQ(config.irq_lines[1].trigger, Trigger::Level);
  EXPECT_EQ(config.irq_lines[2].msi->vector, 80u);
}

TEST(Config, SerialOptionFromTheCommandLine) {
  EXPECT_EQ(parse_serial_option("stdio").backend, SerialConfig::Backend::Stdio);
  const auto file = parse_serial_option("file:/tmp/out.log");
  EXPECT_EQ(file.backend, SerialConfig::Backend::File);
  EXPECT_EQ(file.path.string(), "/tmp/out.log");
  EXPECT_EQ(parse_serial_option("socket:/tmp/s.sock").backend, SerialConfig::Backend::Socket);
  for (const char* bad : {"tcp:1234", "file:", "socket", "stdio:x", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_serial_option(bad), InputError);
  }
}

TEST(Config, SyntaxErrorsGiveLineAndColumn) {
  EXPECT_NE(error_of("{\n  \"vcpus\": 1\n  \"memory_mib\": 2\n}").find("line 3"), std::string::npos);
}

}  // namespace
}  // namespace vmm
