#include "vmm/debug/X86Registers.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace vmm::debug {
namespace {

X86Registers sample_registers() {
  X86Registers r;
  for (unsigned i = 0; i < 16; ++i) r.gpr[i] = 0x1111111111111111ull * (i + 1);
  r.rip = 0xffffffff80001234ull;
  r.eflags = 0x246;
  r.cs = 0x10, r.ss = 0x18, r.ds = 0x18, r.es = 0x18, r.fs = 0x20, r.gs = 0x28;
  for (unsigned i = 0; i < 8; ++i)
    for (unsigned b = 0; b < 10; ++b) r.st[i][b] = static_cast<std::uint8_t>(i * 16 + b);
  r.fctrl = 0x37f, r.fstat = 1, r.ftag = 2, r.fiseg = 3, r.fioff = 4, r.foseg = 5, r.fooff = 6, r.fop = 7;
  r.fs_base = 0x7f0000001000ull, r.gs_base = 0xffff888000000000ull;
  r.cr0 = 0x80050033, r.cr2 = 0xdead000, r.cr3 = 0x1000, r.cr4 = 0x6b0, r.cr8 = 0xf, r.efer = 0xd01;
  return r;
}

bool same(const X86Registers& a, const X86Registers& b) { return encode_registers(a) == encode_registers(b); }

TEST(X86Registers, SizesFollowTheDescription) {
  EXPECT_EQ(kRegisterCount, 48u);
  struct Case {
    unsigned first, last, size;
  } cases[] = {{0, 16, 8}, {17, 23, 4}, {24, 31, 10}, {32, 39, 4}, {40, 47, 8}};
  for (const auto& c : cases)
    for (unsigned n = c.first; n <= c.last; ++n) EXPECT_EQ(register_size(n), c.size) << n;
  EXPECT_EQ(register_size(kRipRegister), 8u);
  EXPECT_EQ(register_size(48), 0u);
  EXPECT_EQ(register_size(~0u), 0u);
  EXPECT_EQ(encode_registers(X86Registers{}).size(), 16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 2 * 8 + 6 * 8u);
}

TEST(X86Registers, GPacketIsLittleEndianInGdbOrder) {
  X86Registers r;
  r.gpr[0] = 0x0807060504030201ull;  // rax
  r.rip = 0x1122334455667788ull;
  r.eflags = 0xaabbccdd;
  const auto bytes = encode_registers(r);
  EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 8),
            (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(bytes[128], 0x88);  // rip follows the 16 general registers
  EXPECT_EQ(bytes[135], 0x11);
  EXPECT_EQ(bytes[136], 0xdd);  // then eflags, 4 bytes
  EXPECT_EQ(bytes[139], 0xaa);
}

TEST(X86Registers, EncodeDecodeRoundTrip) {
  const X86Registers r = sample_registers();
  const auto bytes = encode_registers(r);
  const auto back = decode_registers(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(*back, r));
  EXPECT_EQ(back->rip, r.rip);
  EXPECT_EQ(back->st[7], r.st[7]);
  EXPECT_EQ(back->efer, r.efer);
}

TEST(X86Registers, DecodeRejectsWrongSizes) {
  const auto bytes = encode_registers(sample_registers());
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, bytes.size() - 1, bytes.size() + 1}) {
    std::vector<std::uint8_t> wrong(bytes);
    wrong.resize(size);
    EXPECT_FALSE(decode_registers(wrong)) << size;
  }
}

TEST(X86Registers, SingleRegistersMatchTheirSliceOfTheGPacket) {
  const X86Registers r = sample_registers();
  const auto all = encode_registers(r);
  std::size_t at = 0;
  for (unsigned n = 0; n < kRegisterCount; ++n) {
    const auto one = encode_register(r, n);
    ASSERT_EQ(one.size(), register_size(n)) << n;
    EXPECT_TRUE(std::equal(one.begin(), one.end(), all.begin() + static_cast<std::ptrdiff_t>(at))) << n;
    at += one.size();

    // Writing a register changes exactly that register.
    X86Registers changed = r;
    std::vector<std::uint8_t> value(one.size(), 0xa5);
    ASSERT_TRUE(decode_register(changed, n, value)) << n;
    EXPECT_EQ(encode_register(changed, n), value) << n;
    for (unsigned other = 0; other < kRegisterCount; ++other) {
      if (other == n) continue;
      EXPECT_EQ(encode_register(changed, other), encode_register(r, other)) << n << "/" << other;
    }
  }
  EXPECT_EQ(at, all.size());
}

TEST(X86Registers, SingleRegisterErrors) {
  X86Registers r = sample_registers();
  EXPECT_TRUE(encode_register(r, kRegisterCount).empty());
  EXPECT_FALSE(decode_register(r, kRegisterCount, std::vector<std::uint8_t>(8)));
  EXPECT_FALSE(decode_register(r, 0, std::vector<std::uint8_t>(4)));   // rax is 8 bytes
  EXPECT_FALSE(decode_register(r, 17, std::vector<std::uint8_t>(8)));  // eflags is 4
  EXPECT_FALSE(decode_register(r, 24, {}));
  EXPECT_TRUE(same(r, sample_registers()));
}

// Every tag opened is closed, in order, with nothing after the root.
TEST(X86Registers, DescriptionIsBalancedXml) {
  const std::string& xml = target_description_xml();
  ASSERT_TRUE(xml.starts_with("<?xml version=\"1.0\"?>"));
  EXPECT_EQ(xml.find("xi:include"), std::string::npos);
  std::vector<std::string> open;
  const std::regex tag(R"(<(/?)([A-Za-z_][A-Za-z0-9_.:-]*)[^<>]*?(/?)>)");
  std::size_t roots = 0;
  for (std::sregex_iterator it(xml.begin(), xml.end(), tag), end; it != end; ++it) {
    const std::string name = (*it)[2];
    if ((*it)[1] == "/") {
      ASSERT_FALSE(open.empty()) << name;
      EXPECT_EQ(open.back(), name);
      open.pop_back();
      if (open.empty()) ++roots;
    } else if ((*it)[3] != "/") {
      open.push_back(name);
    }
  }
  EXPECT_TRUE(open.empty());
  EXPECT_EQ(roots, 1u);
  EXPECT_NE(xml.find("<architecture>i386:x86-64</architecture>"), std::string::npos);
  for (const char* feature : {"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.segments", "org.vmm.x86.sys"})
    EXPECT_NE(xml.find("<feature name=\"" + std::string(feature) + "\">"), std::string::npos) << feature;
  EXPECT_NE(xml.find("<flags id=\"i386_eflags\" size=\"4\">"), std::string::npos);
}

TEST(X86Registers, DescriptionHasEveryRegisterInOrder) {
  const std::string& xml = target_description_xml();
  const std::regex reg(R"re(<reg name="([a-z0-9_]+)" bitsize="(\d+)" type="([a-z0-9_]+)" regnum="(\d+)")re");
  const std::vector<std::string> names = {
      "rax",   "rbx",   "rcx",   "rdx",   "rsi",   "rdi",   "rbp",     "rsp",     "r8",  "r9",  "r10", "r11",
      "r12",   "r13",   "r14",   "r15",   "rip",   "eflags", "cs",     "ss",      "ds",  "es",  "fs",  "gs",
      "st0",   "st1",   "st2",   "st3",   "st4",   "st5",   "st6",     "st7",     "fctrl", "fstat", "ftag", "fiseg",
      "fioff", "foseg", "fooff", "fop",   "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"};
  unsigned expected = 0;
  for (std::sregex_iterator it(xml.begin(), xml.end(), reg), end; it != end; ++it, ++expected) {
    ASSERT_LT(expected, names.size());
    EXPECT_EQ((*it)[1], names[expected]);
    EXPECT_EQ(std::stoul((*it)[4]), expected);
    EXPECT_EQ(std::stoul((*it)[2]), register_size(expected) * 8) << names[expected];
  }
  EXPECT_EQ(expected, 48u);
  // Every <reg> matched the pattern above.
  std::size_t count = 0;
  for (std::size_t at = xml.find("<reg "); at != std::string::npos; at = xml.find("<reg ", at + 1)) ++count;
  EXPECT_EQ(count, 48u);
}

TEST(X86Registers, DescriptionUsesGdbTypes) {
  const std::string& xml = target_description_xml();
  for (const char* needle : {R"(name="rip" bitsize="64" type="code_ptr")", R"(name="rsp" bitsize="64" type="data_ptr")",
                             R"(name="rbp" bitsize="64" type="data_ptr")", R"(name="eflags" bitsize="32" type="i386_eflags")",
                             R"(name="cs" bitsize="32" type="int32")", R"(name="st0" bitsize="80" type="i387_ext")",
                             R"(name="rax" bitsize="64" type="int64")", R"(name="cr3" bitsize="64" type="int64")"})
    EXPECT_NE(xml.find(needle), std::string::npos) << needle;
}

}  // namespace
}  // namespace vmm::debug
