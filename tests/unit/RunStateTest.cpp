#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "vmm/kvm/RunState.h"

namespace vmm {
namespace {

TEST(RunState, TheFirstStopDecidesTheStatusAndReport) {
  RunState state;
  EXPECT_FALSE(state.stopping());
  EXPECT_TRUE(state.stop(7, "guest wrote 7"));
  EXPECT_FALSE(state.stop(124, "timeout"));
  EXPECT_TRUE(state.stopping());
  EXPECT_EQ(state.exit_status(), 7);
  EXPECT_EQ(state.report(), "guest wrote 7");
}

TEST(RunState, PauseTellsWhetherItChangedAnything) {
  RunState state;
  EXPECT_TRUE(state.pause());
  EXPECT_FALSE(state.pause());
  EXPECT_TRUE(state.paused());
  state.resume();
  EXPECT_FALSE(state.paused());
}

TEST(RunState, AWaiterLeavesOnResumeAndOnStop) {
  for (const bool by_stop : {false, true}) {
    RunState state;
    state.pause();
    std::thread waiter([&] { state.wait_while_paused(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (by_stop)
      state.stop(0, "");
    else
      state.resume();
    waiter.join();  // hangs (and the test times out) if the waiter was not woken
  }
}

}  // namespace
}  // namespace vmm
