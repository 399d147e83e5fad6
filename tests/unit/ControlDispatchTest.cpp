// A control request reaches the machine through ControlTarget only, and each
// kind gets the response the protocol documents (docs/control.md).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "vmm/control/ControlDispatch.h"

namespace vmm::control {
namespace {

struct RecordingTarget final : ControlTarget {
  std::vector<std::string> calls;
  Inject last_inject;
  void inject(const Inject& inject) override {
    last_inject = inject;
    calls.push_back("inject");
  }
  void send_serial_input(const std::string& text) override { calls.push_back("serial:" + text); }
  nlohmann::json stats() const override { return {{"paused", false}}; }
  void pause() override { calls.push_back("pause"); }
  void resume() override { calls.push_back("resume"); }
  void nmi() override { throw std::invalid_argument("the vCPUs have not started yet"); }
  void stop_after_reply() override { calls.push_back("stop"); }
};

TEST(ControlDispatch, EachRequestCallsItsTargetOnceAndAnswers) {
  struct Case {
    const char* request;
    const char* call;
    const char* response;
    const char* kind;
  };
  const Case cases[] = {
      {R"({"cmd":"inject","line":"nic","count":3})", "inject", R"({"scheduled":3})", "inject"},
      {R"({"cmd":"serial","text":"ls\n"})", "serial:ls\n", "{}", "serial"},
      {R"({"cmd":"pause"})", "pause", "{}", "pause"},
      {R"({"cmd":"resume"})", "resume", "{}", "resume"},
      {R"({"cmd":"stop"})", "stop", "{}", "stop"},
  };
  const auto names = request_names();
  for (const auto& test : cases) {
    RecordingTarget target;
    const auto [response, kind] = dispatch(target, nlohmann::json::parse(test.request));
    EXPECT_EQ(target.calls, std::vector<std::string>{test.call}) << test.request;
    EXPECT_EQ(response, nlohmann::json::parse(test.response)) << test.request;
    ASSERT_LT(kind, names.size());
    EXPECT_EQ(names[kind], test.kind) << test.request;
  }
}

TEST(ControlDispatch, InjectPassesEveryFieldThrough) {
  RecordingTarget target;
  dispatch(target,
           nlohmann::json::parse(R"({"cmd":"inject","line":"16","count":5,"interval_us":250,"wait_for_ack":true})"));
  EXPECT_EQ(target.last_inject.line, "16");
  EXPECT_EQ(target.last_inject.count, 5u);
  EXPECT_EQ(target.last_inject.interval_us, 250u);
  EXPECT_TRUE(target.last_inject.wait_for_ack);
}

TEST(ControlDispatch, StatsAnswersWithTheTargetsValue) {
  RecordingTarget target;
  EXPECT_EQ(dispatch(target, nlohmann::json::parse(R"({"cmd":"stats"})")).response,
            (nlohmann::json{{"stats", {{"paused", false}}}}));
}

TEST(ControlDispatch, ARefusalReachesTheClientAndAMalformedRequestNoTarget) {
  RecordingTarget target;
  EXPECT_THROW(dispatch(target, nlohmann::json::parse(R"({"cmd":"nmi"})")), std::invalid_argument);
  EXPECT_THROW(dispatch(target, nlohmann::json::parse(R"({"cmd":"reboot"})")), std::invalid_argument);
  EXPECT_THROW(dispatch(target, nlohmann::json::parse(R"({"cmd":"inject"})")), std::invalid_argument);
  EXPECT_TRUE(target.calls.empty());
}

}  // namespace
}  // namespace vmm::control
