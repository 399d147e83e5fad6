// The CMOS RTC against the MC146818A's register map: the host's time in BCD
// and binary, 24- and 12-hour form, the status registers Linux reads, the
// read-only clock, the CMOS RAM and the index port's NMI bit.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "devices/CmosRtc.h"

namespace vmm {
namespace {

// 2026-12-01 14:05:09 UTC, a Tuesday.
constexpr std::int64_t kTuesdayAfternoon = 1796133909;

std::uint8_t read(CmosRtc& rtc, std::uint8_t index) {
  const std::uint8_t select[] = {index};
  rtc.write(0, select);
  std::uint8_t value[1] = {0};
  rtc.read(1, value);
  return value[0];
}

void write(CmosRtc& rtc, std::uint8_t index, std::uint8_t value) {
  const std::uint8_t select[] = {index};
  rtc.write(0, select);
  const std::uint8_t data[] = {value};
  rtc.write(1, data);
}

struct Field {
  const char* what;
  std::uint8_t index;
  std::uint8_t bcd_24h, binary_24h, bcd_12h;
};

TEST(CmosRtc, TimeFieldsInEveryFormat) {
  const Field fields[] = {
      {"seconds", 0x00, 0x09, 9, 0x09},       {"minutes", 0x02, 0x05, 5, 0x05},
      {"hours (2 PM)", 0x04, 0x14, 14, 0x82}, {"day of week (Sunday = 1)", 0x06, 0x03, 3, 0x03},
      {"day of month", 0x07, 0x01, 1, 0x01},  {"month", 0x08, 0x12, 12, 0x12},
      {"year", 0x09, 0x26, 26, 0x26},         {"century", 0x32, 0x20, 20, 0x20},
      {"seconds alarm", 0x01, 0, 0, 0},
  };
  for (const Field& field : fields) {
    SCOPED_TRACE(field.what);
    CmosRtc rtc([] { return kTuesdayAfternoon; });
    EXPECT_EQ(read(rtc, field.index), field.bcd_24h);
    write(rtc, CmosRtc::kRegB, CmosRtc::kRegB24Hour | CmosRtc::kRegBBinary);
    EXPECT_EQ(read(rtc, field.index), field.binary_24h);
    write(rtc, CmosRtc::kRegB, 0);
    EXPECT_EQ(read(rtc, field.index), field.bcd_12h);
  }
}

TEST(CmosRtc, MidnightAndNoonInTwelveHourForm) {
  struct Case {
    std::int64_t time;
    std::uint8_t hour;
  };
  for (const Case& c : {Case{1796083200, 0x12} /* 00:00 is 12 AM */, Case{1796126400, 0x92} /* 12:00 is 12 PM */,
                        Case{1796169599, 0x91} /* 23:59:59 is 11 PM */}) {
    CmosRtc rtc([&] { return c.time; });
    write(rtc, CmosRtc::kRegB, 0);
    EXPECT_EQ(read(rtc, 0x04), c.hour) << c.time;
  }
}

TEST(CmosRtc, CalendarEdges) {
  struct Case {
    std::int64_t time;
    std::uint8_t day, month, year, century, weekday;
  };
  const Case cases[] = {
      {0, 0x01, 0x01, 0x70, 0x19, 5},           // 1970-01-01, a Thursday
      {951782400, 0x29, 0x02, 0x00, 0x20, 3},   // 2000-02-29, a Tuesday (a leap day of a century year)
      {4102444799, 0x31, 0x12, 0x99, 0x20, 5},  // 2099-12-31 23:59:59, a Thursday
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.time);
    CmosRtc rtc([&] { return c.time; });
    EXPECT_EQ(read(rtc, 0x07), c.day);
    EXPECT_EQ(read(rtc, 0x08), c.month);
    EXPECT_EQ(read(rtc, 0x09), c.year);
    EXPECT_EQ(read(rtc, CmosRtc::kCentury), c.century);
    EXPECT_EQ(read(rtc, 0x06), c.weekday);
  }
}

TEST(CmosRtc, StatusRegistersAsLinuxReadsThem) {
  CmosRtc rtc([] { return kTuesdayAfternoon; });
  EXPECT_EQ(read(rtc, CmosRtc::kRegA), 0x26);  // UIP clear: no update in progress
  EXPECT_EQ(read(rtc, CmosRtc::kRegB), 0x02);  // BCD, 24-hour
  EXPECT_EQ(read(rtc, CmosRtc::kRegC), 0x00);  // no interrupt flags
  EXPECT_EQ(read(rtc, CmosRtc::kRegD), 0x80);  // valid RAM and time
}

TEST(CmosRtc, TheClockIsReadOnlyAndTheRamIsNot) {
  CmosRtc rtc([] { return kTuesdayAfternoon; });
  for (std::uint8_t index : {0x00, 0x02, 0x04, 0x07, 0x09, 0x0a, 0x0c, 0x0d, 0x32}) {
    const std::uint8_t before = read(rtc, index);
    write(rtc, index, 0x55);
    EXPECT_EQ(read(rtc, index), before) << "register " << int(index);
  }
  for (std::uint8_t index : {0x0e, 0x10, 0x40, 0x7f}) {
    EXPECT_EQ(read(rtc, index), 0) << "RAM " << int(index);
    write(rtc, index, static_cast<std::uint8_t>(index ^ 0xa5));
    EXPECT_EQ(read(rtc, index), index ^ 0xa5) << "RAM " << int(index);
  }
}

TEST(CmosRtc, TheIndexPortMasksNmiAndReadsAllOnes) {
  CmosRtc rtc([] { return kTuesdayAfternoon; });
  EXPECT_EQ(read(rtc, 0x80 | 0x00), 0x09);  // NMI disabled, seconds
  std::uint8_t index[1] = {0};
  rtc.read(0, index);
  EXPECT_EQ(index[0], 0xff);
  const std::uint8_t both[] = {0x40, 0x77};  // a 16-bit write: index, then data
  rtc.write(0, both);
  EXPECT_EQ(read(rtc, 0x40), 0x77);
}

}  // namespace
}  // namespace vmm
