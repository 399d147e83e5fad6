#include "vmm/debug/GdbCommand.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmm::debug {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The command of type T that `payload` parses to; fails the test otherwise.
template <class T>
T parsed(std::string_view payload) {
  const GdbCommand command = parse_gdb_command(payload);
  const T* value = std::get_if<T>(&command);
  EXPECT_NE(value, nullptr) << "'" << payload << "' parsed to alternative " << command.index();
  return value ? *value : T{};
}

TEST(GdbCommand, QuerySupportedListsTheFeatures) {
  const auto query = parsed<cmd::QuerySupported>("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;xmlRegisters=i386");
  EXPECT_EQ(query.features,
            (std::vector<std::string>{"multiprocess+", "swbreak+", "hwbreak+", "qRelocInsn+", "xmlRegisters=i386"}));
  EXPECT_TRUE(parsed<cmd::QuerySupported>("qSupported").features.empty());
  EXPECT_EQ(parsed<cmd::QuerySupported>("qSupported:a+;;b-").features, (std::vector<std::string>{"a+", "b-"}));
}

TEST(GdbCommand, ReadFeatures) {
  const auto read = parsed<cmd::ReadFeatures>("qXfer:features:read:target.xml:0,ffb");
  EXPECT_EQ(read.annex, "target.xml");
  EXPECT_EQ(read.offset, 0u);
  EXPECT_EQ(read.length, 0xffbu);
  const auto later = parsed<cmd::ReadFeatures>("qXfer:features:read:target.xml:ffb,ffb");
  EXPECT_EQ(later.offset, 0xffbu);
}

TEST(GdbCommand, SimpleCommands) {
  parsed<cmd::HaltReason>("?");
  parsed<cmd::ReadRegisters>("g");
  parsed<cmd::VContQuery>("vCont?");
  parsed<cmd::CurrentThread>("qC");
  parsed<cmd::FirstThreadInfo>("qfThreadInfo");
  parsed<cmd::NextThreadInfo>("qsThreadInfo");
  parsed<cmd::Attached>("qAttached");
  parsed<cmd::Attached>("qAttached:1");
  parsed<cmd::Detach>("D");
  parsed<cmd::Detach>("D;1");
  parsed<cmd::Kill>("k");
  parsed<cmd::Kill>("vKill;1");
  parsed<cmd::StartNoAckMode>("QStartNoAckMode");
}

TEST(GdbCommand, Registers) {
  EXPECT_EQ(parsed<cmd::WriteRegisters>("G0011ff").bytes, (Bytes{0x00, 0x11, 0xff}));
  EXPECT_EQ(parsed<cmd::ReadRegister>("p10").number, 0x10u);
  EXPECT_EQ(parsed<cmd::ReadRegister>("p0").number, 0u);
  const auto write = parsed<cmd::WriteRegister>("P10=0010000000000000");
  EXPECT_EQ(write.number, 0x10u);
  EXPECT_EQ(write.bytes, (Bytes{0, 0x10, 0, 0, 0, 0, 0, 0}));
}

TEST(GdbCommand, Memory) {
  const auto read = parsed<cmd::ReadMemory>("mffffffff80001000,40");
  EXPECT_EQ(read.address, 0xffffffff80001000u);
  EXPECT_EQ(read.length, 0x40u);
  // A huge length parses: refusing it is the target's job, and nothing is allocated for it.
  EXPECT_EQ(parsed<cmd::ReadMemory>("m0,ffffffffffff").length, 0xffffffffffffu);
  EXPECT_EQ(parsed<cmd::ReadMemory>("m0,ffffffffffffffff").length, ~0ull);

  const auto write = parsed<cmd::WriteMemory>("M1000,3:0a0b0c");
  EXPECT_EQ(write.address, 0x1000u);
  EXPECT_EQ(write.bytes, (Bytes{0x0a, 0x0b, 0x0c}));
  EXPECT_TRUE(parsed<cmd::WriteMemory>("M1000,0:").bytes.empty());

  // 'X' data is binary, already unescaped by the decoder: any byte, ':' and NUL included.
  const std::string binary("X2000,4:\x00:#\xff", 12);
  const auto x = parsed<cmd::WriteMemory>(binary);
  EXPECT_EQ(x.address, 0x2000u);
  EXPECT_EQ(x.bytes, (Bytes{0x00, ':', '#', 0xff}));
  EXPECT_TRUE(parsed<cmd::WriteMemory>("X0,0:").bytes.empty());  // GDB's probe for X support
}

TEST(GdbCommand, Resume) {
  EXPECT_FALSE(parsed<cmd::Continue>("c").address);
  EXPECT_EQ(parsed<cmd::Continue>("c100000").address, 0x100000u);
  EXPECT_FALSE(parsed<cmd::Step>("s").address);
  EXPECT_EQ(parsed<cmd::Step>("sffffffff80001234").address, 0xffffffff80001234u);
}

TEST(GdbCommand, VCont) {
  struct Case {
    std::string payload;
    std::vector<std::pair<char, ThreadId>> actions;
  } cases[] = {
      {"vCont;c", {{'c', kAllThreads}}},
      {"vCont;s", {{'s', kAllThreads}}},
      {"vCont;s:1;c", {{'s', 1}, {'c', kAllThreads}}},
      {"vCont;S05:2", {{'S', 2}}},
      {"vCont;C0b:-1", {{'C', kAllThreads}}},
      {"vCont;c:a;s:b", {{'c', 10}, {'s', 11}}},
      {"vCont;s:p1.2;c:p1.-1", {{'s', 2}, {'c', kAllThreads}}},
      {"vCont;c:p1", {{'c', kAllThreads}}},
  };
  for (const auto& c : cases) {
    const auto vcont = parsed<cmd::VCont>(c.payload);
    ASSERT_EQ(vcont.actions.size(), c.actions.size()) << c.payload;
    for (std::size_t i = 0; i < c.actions.size(); ++i) {
      EXPECT_EQ(vcont.actions[i].action, c.actions[i].first) << c.payload;
      EXPECT_EQ(vcont.actions[i].thread, c.actions[i].second) << c.payload;
    }
  }
}

TEST(GdbCommand, Breakpoints) {
  for (unsigned type = 0; type <= 4; ++type) {
    const std::string suffix = std::to_string(type) + ",ffffffff80001000,1";
    const auto insert = parsed<cmd::InsertBreakpoint>("Z" + suffix);
    EXPECT_EQ(insert.type, type);
    EXPECT_EQ(insert.address, 0xffffffff80001000u);
    EXPECT_EQ(insert.kind, 1u);
    const auto remove = parsed<cmd::RemoveBreakpoint>("z" + suffix);
    EXPECT_EQ(remove.type, type);
    EXPECT_EQ(remove.address, 0xffffffff80001000u);
    EXPECT_EQ(remove.kind, 1u);
  }
  EXPECT_EQ(parsed<cmd::InsertBreakpoint>("Z2,1000,8").kind, 8u);
}

TEST(GdbCommand, Threads) {
  const auto hg = parsed<cmd::SetThread>("Hg1");
  EXPECT_EQ(hg.operation, 'g');
  EXPECT_EQ(hg.thread, 1);
  const auto hc = parsed<cmd::SetThread>("Hc-1");
  EXPECT_EQ(hc.operation, 'c');
  EXPECT_EQ(hc.thread, kAllThreads);
  EXPECT_EQ(parsed<cmd::SetThread>("Hg0").thread, kAnyThread);
  EXPECT_EQ(parsed<cmd::SetThread>("Hgp1.2").thread, 2);
  EXPECT_EQ(parsed<cmd::ThreadAlive>("T1").thread, 1);
  EXPECT_EQ(parsed<cmd::ThreadAlive>("T1f").thread, 0x1f);
}

TEST(GdbCommand, MalformedKnownPackets) {
  const std::string cases[] = {
      "qXfer:features:read:target.xml",        // no range
      "qXfer:features:read:target.xml:0",      // no length
      "qXfer:features:read:target.xml:x,10",   // not hex
      "?x", "gx",
      "G0", "Gzz",                              // odd length, not hex
      "p", "pxyz", "p100000000",               // register number past 32 bits
      "P10", "P=00", "P10=", "P10=0", "P10=zz",
      "m", "m1000", "m1000,", "m,10", "mx,10", "m1000,10,", "m10000000000000000,1",  // 65-bit address
      "M1000,2:00", "M1000,1:0000", "M1000,1", "M1000,1:zz", "M1000:00",  // length mismatch and the rest
      "X1000,2:a", "X1000,0:a", "X1000,1", "X,1:a",
      "cxyz", "s1000g",
      "vCont;", "vCont;x", "vCont;c;", "vCont;c:", "vCont;c:zz", "vCont;S", "vCont;Sxx", "vCont;S123",
      "vCont;c05", "vCont;t", "vCont;r1000,2000",
      "Z0", "Z0,1000", "Z0,1000,", "Zx,1000,1", "Z0,xyz,1", "z1,1000,q", "Z0,1000,100000000",
      "Hg", "Hgx", "Hc1x",
      "T", "Tzz",
      "D;", "Dx", "D;x",
      "kx",
  };
  for (const auto& payload : cases) {
    const GdbCommand command = parse_gdb_command(payload);
    const auto* malformed = std::get_if<cmd::Malformed>(&command);
    ASSERT_NE(malformed, nullptr) << "'" << payload << "' parsed to alternative " << command.index();
    EXPECT_FALSE(malformed->why.empty()) << payload;
  }
}

TEST(GdbCommand, UnknownPacketsAreUnsupported) {
  const std::string cases[] = {
      "", "!", "qTStatus", "qOffsets", "qSymbol::", "qCRC:0,10", "qXfer:memory-map:read::0,100",
      "qXfer:threads:read::0,100", "QNonStop:0", "QStartNoAckModeX", "vMustReplyEmpty", "vContX",
      "vFile:open:", "vRun", "Z5,1000,1", "z9,1000,1", "Hm1", "H", "C05", "S05", "bc", "i", "r",
      std::string("\0g", 2), "\xff",
  };
  for (const auto& payload : cases) {
    const GdbCommand command = parse_gdb_command(payload);
    EXPECT_TRUE(std::holds_alternative<cmd::Unsupported>(command))
        << "'" << payload << "' parsed to alternative " << command.index();
  }
}

TEST(GdbReply, StopReply) {
  EXPECT_EQ(stop_reply(5, 1), "T05thread:01;");
  EXPECT_EQ(stop_reply(2, 0x1f), "T02thread:1f;");
  EXPECT_EQ(stop_reply(5, 0x123), "T05thread:123;");
}

TEST(GdbReply, ErrorReply) {
  EXPECT_EQ(error_reply(1), "E01");
  EXPECT_EQ(error_reply(0x16), "E16");
  EXPECT_EQ(error_reply(255), "Eff");
}

TEST(GdbReply, XferReplyChunksTheDocument) {
  const std::string document = "<target>0123456789</target>";  // 27 bytes
  struct Case {
    std::uint64_t offset, length;
    std::string reply;
  } cases[] = {
      {0, 8, "m<target>"},
      {8, 10, "m0123456789"},
      {18, 9, "l</target>"},           // reaches the end exactly
      {18, 100, "l</target>"},         // asks for more than there is
      {0, 0xffb, "l" + document},
      {27, 10, "l"},                   // at the end
      {1000, 10, "l"},                 // past it
      {~0ull, ~0ull, "l"},
  };
  for (const auto& c : cases) EXPECT_EQ(xfer_reply(document, c.offset, c.length), c.reply) << c.offset;
}

TEST(GdbReply, XferReplyNeverExceedsAPacket) {
  const std::string document(3 * 16384, 'x');
  EXPECT_LT(xfer_reply(document, 0, ~0ull).size(), 16384u + 1);
}

TEST(GdbReply, ThreadList) {
  EXPECT_EQ(thread_list_reply(1), "m1");
  EXPECT_EQ(thread_list_reply(3), "m1,2,3");
  EXPECT_EQ(thread_list_reply(11), "m1,2,3,4,5,6,7,8,9,a,b");
  EXPECT_EQ(thread_list_reply(0), "l");
}

}  // namespace
}  // namespace vmm::debug
