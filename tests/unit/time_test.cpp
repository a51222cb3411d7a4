// Durations and RFC 3339 timestamps (src/core/time.cpp).
#include "waymark/time.hpp"

#include <gtest/gtest.h>

namespace waymark {
namespace {

constexpr Millis kSecond = 1000;
constexpr Millis kMinute = 60 * kSecond;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;

TEST(TimeDuration, EveryUnitParsesToMilliseconds) {
  EXPECT_EQ(parse_duration("30s"), 30 * kSecond);
  EXPECT_EQ(parse_duration("15m"), 15 * kMinute);
  EXPECT_EQ(parse_duration("2h"), 2 * kHour);
  EXPECT_EQ(parse_duration("3d"), 3 * kDay);
  EXPECT_EQ(parse_duration("1w"), 7 * kDay);
}

TEST(TimeDuration, MultiDigitCountsAndLeadingZerosParse) {
  EXPECT_EQ(parse_duration("90d"), 90 * kDay);
  EXPECT_EQ(parse_duration("1000s"), 1000 * kSecond);
  EXPECT_EQ(parse_duration("07m"), 7 * kMinute);
}

TEST(TimeDuration, ZeroIsRejected) {
  EXPECT_EQ(parse_duration("0s"), std::nullopt);
  EXPECT_EQ(parse_duration("00d"), std::nullopt);
}

TEST(TimeDuration, SignsFractionsAndMissingUnitsAreRejected) {
  EXPECT_EQ(parse_duration("-1d"), std::nullopt);
  EXPECT_EQ(parse_duration("+1d"), std::nullopt);
  EXPECT_EQ(parse_duration("1.5h"), std::nullopt);
  EXPECT_EQ(parse_duration("10"), std::nullopt);
  EXPECT_EQ(parse_duration("d"), std::nullopt);
  EXPECT_EQ(parse_duration(""), std::nullopt);
}

TEST(TimeDuration, SpacesUnknownUnitsAndLongUnitsAreRejected) {
  EXPECT_EQ(parse_duration("1 d"), std::nullopt);
  EXPECT_EQ(parse_duration(" 1d"), std::nullopt);
  EXPECT_EQ(parse_duration("1d "), std::nullopt);
  EXPECT_EQ(parse_duration("1y"), std::nullopt);
  EXPECT_EQ(parse_duration("1D"), std::nullopt);
  EXPECT_EQ(parse_duration("2 days"), std::nullopt);
  EXPECT_EQ(parse_duration("1dd"), std::nullopt);
  EXPECT_EQ(parse_duration("1h30m"), std::nullopt);
}

TEST(TimeDuration, OverflowIsRejectedButTheLargestFittingCountIsNot) {
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854776w"), std::nullopt);
  const Millis max_weeks = INT64_MAX / (7 * kDay);
  EXPECT_EQ(parse_duration(std::to_string(max_weeks) + "w"), max_weeks * 7 * kDay);
  EXPECT_EQ(parse_duration(std::to_string(max_weeks + 1) + "w"), std::nullopt);
}

TEST(TimeFormat, EpochFormatsWithMillisecondsAndZ) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
}

TEST(TimeFormat, AKnownInstantFormatsExactly) {
  // 2026-11-22T10:00:00Z = 1795341600 s
  EXPECT_EQ(format_rfc3339(1795341600000), "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1795341600123), "2026-11-22T10:00:00.123Z");
}

TEST(TimeFormat, LeapDayAndInstantsBefore1970Format) {
  EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TimeFormat, EveryFormattedInstantParsesBackToItself) {
  // From year 1 to 9999 in uneven strides (every field changes), plus the
  // edges: the digits are written by hand, parse_rfc3339 checks them.
  const Millis first = kTimeMin;  // 0001-01-01T00:00:00.000Z
  const Millis last = kTimeMax;   // 9999-12-31T23:59:59.999Z
  EXPECT_EQ(format_rfc3339(first), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(last), "9999-12-31T23:59:59.999Z");
  int checked = 0;
  for (Millis t = first; t <= last; t += 1577836799) {  // ~18 days and an odd number of ms
    auto text = format_rfc3339(t);
    ASSERT_EQ(text.size(), 24u) << text;
    ASSERT_EQ(parse_rfc3339(text), t) << text;
    ++checked;
  }
  EXPECT_GT(checked, 100000);
  // Outside four-digit years the text still carries the year.
  EXPECT_EQ(format_rfc3339(last + 1).substr(0, 6), "10000-");
  // Year 0 has four digits but is outside the accepted range.
  EXPECT_EQ(format_rfc3339(-62167219200000), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00.000Z"), std::nullopt);
}

TEST(TimeParse, UtcWithZParses) {
  EXPECT_EQ(parse_rfc3339("2026-11-22T10:00:00Z"), 1795341600000);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
}

TEST(TimeParse, FractionalSecondsOfAnyLengthTruncateToMilliseconds) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.12Z"), 120);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123Z"), 123);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123456789Z"), 123);
}

TEST(TimeParse, OffsetsShiftToUtc) {
  EXPECT_EQ(parse_rfc3339("2026-11-22T12:00:00+02:00"), 1795341600000);
  EXPECT_EQ(parse_rfc3339("2026-11-22T04:30:00-05:30"), 1795341600000);
  EXPECT_EQ(parse_rfc3339("2026-11-22T10:00:00+00:00"), 1795341600000);
  EXPECT_EQ(parse_rfc3339("2026-11-22T12:00:00+0200"), 1795341600000);
}

TEST(TimeParse, FormatThenParseRoundTrips) {
  for (Millis at : {Millis{0}, Millis{1795341600123}, Millis{951782400999}, Millis{-86400001}}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(at)), at) << format_rfc3339(at);
  }
}

TEST(TimeParse, GarbageIsRejected) {
  for (const char* bad : {"", "yesterday", "2026-11-22", "2026-11-22T10:00:00",
                          "2026-11-22 10:00:00Z", "2026-11-22T10:00Z", "2026-11-22T10:00:00.Z",
                          "2026-11-22T10:00:00ZZ", "2026-11-22T10:00:00+2:00",
                          "26-11-22T10:00:00Z", "2026-1-22T10:00:00Z", "2026-11-22T10:00:00 Z"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

TEST(TimeParse, OutOfRangeFieldsAreRejected) {
  for (const char* bad : {"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-31T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-22T24:00:00Z",
                          "2026-11-22T10:60:00Z", "2026-11-22T10:00:60Z",
                          "2026-11-22T10:00:00+24:00", "2026-11-22T10:00:00+02:60"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
  EXPECT_NE(parse_rfc3339("2024-02-29T00:00:00Z"), std::nullopt);
}

// Issue #12: an instant outside years 0001-9999 UTC formats as "10000-..." or
// "-001-..." and would not parse back from the input log.
TEST(TimeParse, InstantsOutsideYears0001To9999AsUtcAreRejected) {
  for (const char* bad : {"9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00",
                          "0000-12-31T23:59:59Z", "9999-12-31T23:59:00-00:01"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), kTimeMin);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59.999Z"), kTimeMax);
  EXPECT_EQ(parse_rfc3339("0001-01-01T01:00:00+01:00"), kTimeMin);
  EXPECT_EQ(parse_rfc3339("9999-12-31T22:59:59.999-01:00"), kTimeMax);
  for (Millis at : {kTimeMin, kTimeMax})
    EXPECT_EQ(parse_rfc3339(format_rfc3339(at)), at) << format_rfc3339(at);
}

TEST(TimeAdd, SumsPastYear9999OrOverflowingAreRefused) {
  EXPECT_EQ(add_time(0, kDay), kDay);
  EXPECT_EQ(add_time(kTimeMax - 1, 1), kTimeMax);
  EXPECT_EQ(add_time(kTimeMax, 1), std::nullopt);
  EXPECT_EQ(add_time(kTimeMin, -1), std::nullopt);
  EXPECT_EQ(add_time(0, *parse_duration("9223372036854775s")), std::nullopt) << "overflows int64";
  EXPECT_EQ(add_time(INT64_MAX, 1), std::nullopt);
}

}  // namespace
}  // namespace waymark
