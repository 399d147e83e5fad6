// --gdb and the config's gdb.endpoint: every accepted spelling, and what is refused.

#include "vmm/debug/GdbEndpoint.h"

#include <gtest/gtest.h>

namespace vmm::debug {
namespace {

struct Spelling {
  const char* text;
  bool valid;
  const char* described;  // GdbEndpoint::describe() when valid
};

class GdbEndpointSpelling : public ::testing::TestWithParam<Spelling> {};

TEST_P(GdbEndpointSpelling, ParsesOrIsRefused) {
  const auto endpoint = parse_gdb_endpoint(GetParam().text);
  ASSERT_EQ(endpoint.has_value(), GetParam().valid) << GetParam().text;
  if (!endpoint) return;
  EXPECT_EQ(endpoint->describe(), GetParam().described);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, GdbEndpointSpelling,
    ::testing::Values(Spelling{"tcp:127.0.0.1:1234", true, "tcp:127.0.0.1:1234"},
                      Spelling{"tcp::1234", true, "tcp:127.0.0.1:1234"},
                      Spelling{"tcp:0.0.0.0:9000", true, "tcp:0.0.0.0:9000"}, Spelling{":1234", true, "tcp:127.0.0.1:1234"},
                      Spelling{"1234", true, "tcp:127.0.0.1:1234"}, Spelling{"tcp::0", true, "tcp:127.0.0.1:0"},
                      Spelling{"unix:/tmp/gdb.sock", true, "unix:/tmp/gdb.sock"}, Spelling{"unix:", false, ""},
                      Spelling{"tcp::65536", false, ""}, Spelling{"tcp::-1", false, ""}, Spelling{"tcp::+5", false, ""},
                      Spelling{"tcp:localhost", false, ""}, Spelling{"tcp:", false, ""}, Spelling{"", false, ""},
                      Spelling{"serial0", false, ""}, Spelling{"tcp::12ab", false, ""}));

}  // namespace
}  // namespace vmm::debug
