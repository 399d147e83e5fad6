// The profiler's symbols (ELF symbol tables, System.map and kallsyms text) and
// its report: folded lines by vCPU, ring and symbol; the summary's splits.

#include <gtest/gtest.h>

#include <fstream>

#include "vmm/Errors.h"
#include "vmm/profile/Profile.h"
#include "vmm/profile/Symbols.h"

namespace vmm::profile {
namespace {

TEST(ProfileSymbols, KallsymsTextNamesTheNearestTextSymbolBelow) {
  const Symbols symbols = Symbols::from_map(
      "ffffffff81000000 T _stext\n"
      "ffffffff81001000 t native_safe_halt\n"
      "ffffffff81001040 T default_idle\n"
      "ffffffff82000000 D some_data\n"          // data: never where RIP is
      "ffffffff81002000 W weak_function\n"
      "not a line\n"
      "zzzz T bad_address\n"
      "ffffffffa0000000 t module_text [kvm]\n");
  EXPECT_EQ(symbols.size(), 5u);
  EXPECT_EQ(symbols.name_of(0xffffffff81001000), "native_safe_halt");
  EXPECT_EQ(symbols.name_of(0xffffffff8100103f), "native_safe_halt");
  EXPECT_EQ(symbols.name_of(0xffffffff81001041), "default_idle");
  EXPECT_EQ(symbols.name_of(0xffffffff81002010), "weak_function");
  EXPECT_EQ(symbols.name_of(0xffffffffa0000010), "module_text");
  EXPECT_EQ(symbols.name_of(0x401000), "0x401000") << "below every symbol";
  EXPECT_EQ(symbols.name_of(0xffffffff81002000 + Symbols::kMaxDistance), "0xffffffff81102000")
      << "too far past the last symbol to be in it";
}

TEST(ProfileSymbols, TheBundledKernelsElfSymbolTable) {
  std::ifstream file(VMM_GUEST_KERNEL, std::ios::binary);
  ASSERT_TRUE(file) << VMM_GUEST_KERNEL;
  const std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const Symbols symbols = Symbols::from_elf(image, "kernel.elf");
  ASSERT_GT(symbols.size(), 100u);
  const Symbols again = Symbols::from_file(VMM_GUEST_KERNEL);
  EXPECT_EQ(again.size(), symbols.size());
  // kernel64.elf, the ELF64 twin with debug info, names the same functions.
  const Symbols wide = Symbols::from_file(VMM_GUEST_KERNEL_SYMBOLS);
  EXPECT_EQ(wide.size(), symbols.size());
}

TEST(ProfileSymbols, MalformedElfIsAnInputErrorNotACrash) {
  std::ifstream file(VMM_GUEST_KERNEL, std::ios::binary);
  std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_GT(image.size(), 0x40u);
  // Section headers past the end of the file.
  std::vector<std::uint8_t> cut(image.begin(), image.begin() + 0x40);
  EXPECT_THROW(Symbols::from_elf(cut, "cut"), InputError);
  EXPECT_EQ(Symbols::from_elf(std::vector<std::uint8_t>{1, 2, 3}, "tiny").size(), 0u) << "not ELF: no symbols";
  EXPECT_THROW(Symbols::from_file("/nonexistent/kallsyms"), InputError);
}

TEST(ProfileReport, FoldedLinesAndTheSummarySplitByVcpuAndRing) {
  const Symbols symbols = Symbols::from_map(
      "0000000000100000 T idle\n"
      "0000000000100100 T schedule\n"
      "0000000000400000 T user_main\n");
  VcpuSamples zero, one;
  for (int i = 0; i < 6; ++i) zero.add(3, 0x400010 + i);  // one function, several RIPs
  for (int i = 0; i < 3; ++i) zero.add(0, 0x100004);
  zero.add(0, 0x100104);
  for (int i = 0; i < 10; ++i) one.add(0, 0x100008);
  zero.add_cost(std::chrono::microseconds(10));
  one.add_cost(std::chrono::microseconds(10));
  const auto report = make_report({&zero, &one}, symbols, std::chrono::seconds(2), 1000);
  EXPECT_EQ(report.samples, 20u);
  EXPECT_EQ(report.folded,
            "vcpu1;ring0;idle 10\n"
            "vcpu0;ring3;user_main 6\n"
            "vcpu0;ring0;idle 3\n"
            "vcpu0;ring0;schedule 1\n");
  EXPECT_NE(report.summary.find("20 samples in 2.00 s at 1000 Hz per vCPU (10 samples/s in all), 1.0 us"),
            std::string::npos)
      << report.summary;
  EXPECT_NE(report.summary.find("ring 0 70.0 %, ring 3 30.0 %; vcpu0 10; vcpu1 10"), std::string::npos)
      << report.summary;
  EXPECT_NE(report.summary.find("    1       13   65.00     100.0  idle\n"), std::string::npos) << report.summary;
  EXPECT_NE(report.summary.find("    2        6   30.00       0.0  user_main\n"), std::string::npos) << report.summary;
}

}  // namespace
}  // namespace vmm::profile
