#include "vmm/debug/RspFraming.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmm::debug {
namespace {

using Kind = RspEvent::Kind;

std::vector<RspEvent> feed(RspDecoder& decoder, std::string_view text) {
  return decoder.feed(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::vector<RspEvent> feed_all(std::string_view text) {
  RspDecoder decoder;
  return feed(decoder, text);
}

// "$payload#xx" with the checksum of the bytes as given (no escaping).
// Appended, not "$" + string: GCC 12 at -O3 reports a false -Werror=restrict
// inside that operator+ (GCC bug 105329).
std::string raw_packet(std::string_view body) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint8_t sum = rsp_checksum(body);
  std::string packet = "$";
  return packet.append(body).append(1, '#').append(1, kHex[sum >> 4]).append(1, kHex[sum & 0xf]);
}

TEST(RspChecksum, SumsBytesModulo256) {
  EXPECT_EQ(rsp_checksum(""), 0);
  EXPECT_EQ(rsp_checksum("g"), 0x67);
  EXPECT_EQ(rsp_checksum("OK"), 0x9a);
  EXPECT_EQ(rsp_checksum(std::string(3, '\xff')), 0xfd);
}

TEST(RspFrame, AddsChecksumAndEscapesSpecialBytes) {
  EXPECT_EQ(rsp_frame(""), "$#00");
  EXPECT_EQ(rsp_frame("OK"), "$OK#9a");
  // '$' '#' '}' '*' become '}' and the byte XOR 0x20; the checksum covers the escaped form.
  const std::string special = "$#}*x";
  EXPECT_EQ(rsp_frame(special), raw_packet("}\x04}\x03}]}\nx"));
  const auto events = feed_all(rsp_frame(special));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
  EXPECT_EQ(events[0].payload, special);
}

TEST(RspDecoder, DecodesOnePacket) {
  const auto events = feed_all("$g#67");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
  EXPECT_EQ(events[0].payload, "g");
}

TEST(RspDecoder, AcceptsUpperCaseChecksumDigits) {
  const auto events = feed_all("$OK#9A");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
}

TEST(RspDecoder, UndoesEscapes) {
  struct Case {
    std::string body, payload;
  } cases[] = {
      {"}\x03", "#"},
      {"}\x04", "$"},
      {"}]", "}"},
      {"}\x0a", "*"},
      {"X0,1:}\x03", "X0,1:#"},
      {"a}]b}\x04" "c", "a}b$c"},
  };
  for (const auto& c : cases) {
    const auto events = feed_all(raw_packet(c.body));
    ASSERT_EQ(events.size(), 1u) << c.body;
    EXPECT_EQ(events[0].kind, Kind::Packet) << c.body;
    EXPECT_EQ(events[0].payload, c.payload) << c.body;
  }
}

TEST(RspDecoder, DecodesRunLengths) {
  struct Case {
    std::string body, payload;
  } cases[] = {
      {"0* ", "0000"},                        // ' ' = 32: 3 more
      {"a*!b", "aaaab"[0] == 'a' ? "aaaaab" : ""},  // '!' = 33: 4 more
      {"x*~", std::string(98, 'x')},          // '~' = 126: 97 more
      {"ab*\"c", std::string("a") + std::string(6, 'b') + "c"},
      {"*a", "*a"},                           // nothing to repeat: a plain '*'
      {"}]* ", "}}}}"},                       // the repeated byte is the unescaped one
  };
  for (const auto& c : cases) {
    const auto events = feed_all(raw_packet(c.body));
    ASSERT_EQ(events.size(), 1u) << c.body;
    EXPECT_EQ(events[0].kind, Kind::Packet) << c.body;
    EXPECT_EQ(events[0].payload, c.payload) << c.body;
  }
}

TEST(RspDecoder, SplitAtEveryBytePositionGivesTheSameEvents) {
  std::string stream = "+";
  stream.append(raw_packet("m ffffffff80001000,40")).append(raw_packet("a}]b* c")).append("\x03" "-");
  const auto whole = feed_all(stream);
  ASSERT_EQ(whole.size(), 5u);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    RspDecoder decoder;
    auto events = feed(decoder, std::string_view(stream).substr(0, cut));
    const auto rest = feed(decoder, std::string_view(stream).substr(cut));
    events.insert(events.end(), rest.begin(), rest.end());
    ASSERT_EQ(events.size(), whole.size()) << "cut at " << cut;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].kind, whole[i].kind) << "cut at " << cut;
      EXPECT_EQ(events[i].payload, whole[i].payload) << "cut at " << cut;
    }
  }
}

TEST(RspDecoder, ByteByByteFeeding) {
  RspDecoder decoder;
  std::vector<RspEvent> events;
  for (const char c : raw_packet("qSupported:swbreak+")) {
    auto some = feed(decoder, std::string_view(&c, 1));
    events.insert(events.end(), some.begin(), some.end());
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "qSupported:swbreak+");
}

TEST(RspDecoder, SeveralPacketsInOneFeed) {
  const auto events = feed_all(raw_packet("g") + raw_packet("?") + raw_packet("qC"));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].payload, "g");
  EXPECT_EQ(events[1].payload, "?");
  EXPECT_EQ(events[2].payload, "qC");
}

TEST(RspDecoder, ControlBytesOutsidePackets) {
  const auto events = feed_all("+-\x03");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, Kind::Ack);
  EXPECT_EQ(events[1].kind, Kind::Nak);
  EXPECT_EQ(events[2].kind, Kind::Interrupt);
}

TEST(RspDecoder, ControlBytesInsideAPacketAreData) {
  const auto events = feed_all(raw_packet("X0,3:\x03+-"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
  EXPECT_EQ(events[0].payload, "X0,3:\x03+-");
}

TEST(RspDecoder, BadChecksumIsReportedWithThePayload) {
  struct Case {
    std::string stream;
  } cases[] = {{"$g#00"}, {"$g#68"}, {"$g#zz"}, {"$g#6"}};
  for (const auto& c : cases) {
    RspDecoder decoder;
    auto events = feed(decoder, c.stream);
    if (c.stream.size() == 4) {  // one checksum digit: still waiting for the second
      EXPECT_TRUE(events.empty());
      events = feed(decoder, "x");
    }
    ASSERT_EQ(events.size(), 1u) << c.stream;
    EXPECT_EQ(events[0].kind, Kind::BadChecksum) << c.stream;
    EXPECT_EQ(events[0].payload, "g") << c.stream;
  }
}

TEST(RspDecoder, DecoderRecoversAfterBadChecksum) {
  const auto events = feed_all("$g#00" + raw_packet("g"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::BadChecksum);
  EXPECT_EQ(events[1].kind, Kind::Packet);
}

TEST(RspDecoder, OversizedPacketIsDroppedAndTheNextOneParsed) {
  const std::string huge(1 << 20, 'a');
  RspDecoder decoder;
  const auto events = feed(decoder, raw_packet(huge) + raw_packet("g"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::Oversized);
  EXPECT_TRUE(events[0].payload.empty());
  EXPECT_EQ(events[1].kind, Kind::Packet);
  EXPECT_EQ(events[1].payload, "g");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(RspDecoder, PacketOfExactlyTheLimitIsAccepted) {
  const std::string body(kMaxPacketBytes, 'b');
  auto events = feed_all(raw_packet(body));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
  EXPECT_EQ(events[0].payload.size(), kMaxPacketBytes);
  events = feed_all(raw_packet(body + "b"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Oversized);
}

TEST(RspDecoder, RunLengthCannotInflatePastTheLimit) {
  // Each 3-byte "x*~" yields 98 bytes: a small packet that expands past the limit.
  std::string body;
  while (body.size() < kMaxPacketBytes / 20) body += "x*~";
  const auto events = feed_all(raw_packet(body));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Oversized);
}

TEST(RspDecoder, GarbageBetweenPacketsIsReportedOnce) {
  const auto events = feed_all("hello" + raw_packet("g") + "\r\n" + raw_packet("?"));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, Kind::Garbage);
  EXPECT_EQ(events[0].payload, "hello");
  EXPECT_EQ(events[1].payload, "g");
  EXPECT_EQ(events[2].kind, Kind::Garbage);
  EXPECT_EQ(events[2].payload, "\r\n");
  EXPECT_EQ(events[3].payload, "?");
}

TEST(RspDecoder, DollarInsidePacketRestartsIt) {
  const auto events = feed_all("$m10,4" + raw_packet("g"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::Garbage);
  EXPECT_EQ(events[0].payload, "m10,4");
  EXPECT_EQ(events[1].kind, Kind::Packet);
  EXPECT_EQ(events[1].payload, "g");
}

TEST(RspDecoder, PendingBytesCountsAHalfPacket) {
  RspDecoder decoder;
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  EXPECT_TRUE(feed(decoder, "$m1000,").empty());
  EXPECT_EQ(decoder.pending_bytes(), 7u);  // '$' included
  EXPECT_TRUE(feed(decoder, "4#").empty());
  EXPECT_EQ(decoder.pending_bytes(), 9u);
  const std::uint8_t sum = rsp_checksum("m1000,4");
  const std::string digits = {"0123456789abcdef"[sum >> 4], "0123456789abcdef"[sum & 0xf]};
  const auto events = feed(decoder, digits);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "m1000,4");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(RspDecoder, EmptyFeedAndEmptyPacket) {
  RspDecoder decoder;
  EXPECT_TRUE(decoder.feed({}).empty());
  const auto events = feed(decoder, "$#00");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Packet);
  EXPECT_EQ(events[0].payload, "");
}

TEST(RspHex, RoundTripsAndRejectsBadInput) {
  const std::vector<std::uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff, 0x1a};
  EXPECT_EQ(to_hex(bytes), "007f80ff1a");
  EXPECT_EQ(to_hex(std::string_view("OK")), "4f4b");
  EXPECT_EQ(from_hex("007F80ff1a"), bytes);
  EXPECT_EQ(from_hex(""), std::vector<std::uint8_t>{});
  EXPECT_FALSE(from_hex("0"));
  EXPECT_FALSE(from_hex("0g"));
  EXPECT_FALSE(from_hex("0 "));
}

}  // namespace
}  // namespace vmm::debug
