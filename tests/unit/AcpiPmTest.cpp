// The PM1a registers against ACPI 6.5, 4.8.3: what each bit does on read and
// write, byte and word accesses alike, and the one transition vmm acts on.
#include "devices/AcpiPm.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmm {
namespace {

struct Access {
  bool write;
  std::uint64_t offset;
  std::vector<std::uint8_t> bytes;  // written, or expected on read
};

struct PmCase {
  const char* name;
  std::vector<Access> accesses;
  int power_offs = 0;
  std::uint64_t unsupported_sleeps = 0;
};

class AcpiPmTable : public ::testing::TestWithParam<PmCase> {};

TEST_P(AcpiPmTable, FollowsTheSpecification) {
  int power_offs = 0;
  AcpiPm pm([&] { ++power_offs; });
  for (const auto& access : GetParam().accesses) {
    if (access.write) {
      pm.write(access.offset, access.bytes);
      continue;
    }
    std::vector<std::uint8_t> data(access.bytes.size());
    pm.read(access.offset, data);
    EXPECT_EQ(data, access.bytes) << "read at offset " << access.offset;
  }
  EXPECT_EQ(power_offs, GetParam().power_offs);
  EXPECT_EQ(pm.unsupported_sleeps(), GetParam().unsupported_sleeps);
}

constexpr std::uint64_t kSts = AcpiPm::kStatusOffset, kEn = AcpiPm::kEnableOffset, kCnt = AcpiPm::kControlOffset;
// SLP_TYP = 5, SLP_EN: 0x2000 | 5 << 10 = 0x3400.
constexpr std::uint8_t kS5High = 0x34;

INSTANTIATE_TEST_SUITE_P(
    Registers, AcpiPmTable,
    ::testing::Values(
        PmCase{"ResetState",
               {{false, kSts, {0x00, 0x00}}, {false, kEn, {0x00, 0x00}}, {false, kCnt, {0x01, 0x00}}}},
        PmCase{"SciEnableAlwaysReadsOneAsThereIsNoSmiCommandPort",
               {{true, kCnt, {0x00, 0x00}}, {false, kCnt, {0x01, 0x00}}}},
        PmCase{"EnableKeepsDefinedBitsOnly",
               {{true, kEn, {0xff, 0xff}}, {false, kEn, {0x21, 0x07}}}},
        PmCase{"EnableByteWritesLeaveTheOtherByte",
               {{true, kEn, {0x21, 0x01}}, {true, kEn + 1, {0x04}}, {false, kEn, {0x21, 0x04}}}},
        PmCase{"SleepTypeReadsBackSleepEnableAndGlobalReleaseDoNot",
               {{true, kCnt, {0x06, 0x0c}}, {false, kCnt, {0x03, 0x0c}}}},
        PmCase{"SleepTypeWithoutSleepEnableDoesNothing", {{true, kCnt, {0x00, 0x14}}}},
        PmCase{"S5WithSleepEnablePowersOff", {{true, kCnt, {0x00, kS5High}}}, 1},
        PmCase{"S5AsTwoWritesTypeThenEnable",  // what ACPICA does: SLP_TYP, then SLP_TYP | SLP_EN
               {{true, kCnt, {0x01, 0x14}}, {true, kCnt, {0x01, kS5High}}}, 1},
        PmCase{"S5ByAByteWriteToTheHighByte", {{true, kCnt + 1, {kS5High}}}, 1},
        PmCase{"WordWriteAcrossEnableAndControlActsOnBoth",
               {{true, kEn, {0x00, 0x01, 0x00, kS5High}}, {false, kEn, {0x00, 0x01}}}, 1},
        PmCase{"AnotherSleepStateWakesAtOnce",  // SLP_TYP 1 + SLP_EN: 0x2400
               {{true, kCnt, {0x00, 0x24}}, {false, kSts, {0x00, 0x80}}, {true, kSts, {0x00, 0x80}},
                {false, kSts, {0x00, 0x00}}},
               0, 1},
        PmCase{"StatusIsWriteOneToClearOnly",
               {{true, kCnt, {0x00, 0x24}}, {true, kSts, {0xff, 0x7f}}, {false, kSts, {0x00, 0x80}}}, 0, 1},
        PmCase{"OutsideTheBlocksReadsOnes", {{false, AcpiPm::kPorts, {0xff}}, {true, AcpiPm::kPorts, {0x34}}}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vmm
