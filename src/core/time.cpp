// Durations and RFC 3339 timestamps, by plain calendar arithmetic (proleptic
// Gregorian, UTC). No time zone database and no clock: pure functions.
#include "waymark/time.hpp"

#include <cstdio>
#include <limits>

namespace waymark {
namespace {

constexpr Millis kSecondMs = 1000;
constexpr Millis kDayMs = 86400 * kSecondMs;

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil.
CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

Millis unit_ms(char unit) {
  switch (unit) {
    case 's': return kSecondMs;
    case 'm': return 60 * kSecondMs;
    case 'h': return 3600 * kSecondMs;
    case 'd': return kDayMs;
    case 'w': return 7 * kDayMs;
    default: return 0;
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos` into `out`; advances `pos`.
bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// Reads "Z", "+hh:mm", "-hh:mm" (also "+hhmm" / "+hh", seen from real clients)
// as an offset east of UTC in minutes. Must consume the rest of the text.
std::optional<int> read_offset(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional<int>(0) : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  int hh = 0, mm = 0;
  if (!read_digits(s, pos, 2, hh)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!read_digits(s, pos, 2, mm)) return std::nullopt;
  }
  if (pos != s.size() || hh > 23 || mm > 59) return std::nullopt;
  return sign * (hh * 60 + mm);
}

}  // namespace

std::optional<Millis> add_time(Millis at, Millis span) {
  Millis sum = 0;
  if (__builtin_add_overflow(at, span, &sum) || sum < kTimeMin || sum > kTimeMax)
    return std::nullopt;
  return sum;
}

std::optional<Millis> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const Millis unit = unit_ms(text.back());
  if (unit == 0) return std::nullopt;
  const std::string_view digits = text.substr(0, text.size() - 1);
  const Millis max_count = std::numeric_limits<Millis>::max() / unit;
  Millis count = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    if (count > (max_count - (c - '0')) / 10) return std::nullopt;  // overflow
    count = count * 10 + (c - '0');
  }
  if (count == 0) return std::nullopt;
  return count * unit;
}

std::string format_rfc3339(Millis at) {
  Millis days = at / kDayMs;
  Millis rem = at % kDayMs;
  if (rem < 0) {  // floor division for instants before 1970
    rem += kDayMs;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const int ms = static_cast<int>(rem % 1000);
  const int secs = static_cast<int>(rem / 1000);
  if (date.year < 0 || date.year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<long long>(date.year), date.month, date.day, secs / 3600,
                  secs / 60 % 60, secs % 60, ms);
    return buf;
  }
  // Every event's timestamp goes through here (history, trace): digits by
  // hand, snprintf was ~4 % of the node's instructions.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t pos, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10)
      out[pos + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
  };
  put(0, static_cast<unsigned>(date.year), 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, static_cast<unsigned>(secs / 3600), 2);
  put(14, static_cast<unsigned>(secs / 60 % 60), 2);
  put(17, static_cast<unsigned>(secs % 60), 2);
  put(20, static_cast<unsigned>(ms), 3);
  return out;
}

std::optional<Millis> parse_rfc3339(std::string_view s) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, pos, 4, year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return std::nullopt;
  ++pos;
  if (!read_digits(s, pos, 2, hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, second)) {
    return std::nullopt;
  }
  Millis frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    for (; pos < s.size() && is_digit(s[pos]); ++pos, ++n) {
      if (n < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');  // truncate past ms
    }
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) frac_ms *= 10;
  }
  const auto offset_min = read_offset(s, pos);
  if (!offset_min) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month)) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const Millis secs = days * 86400 + hour * 3600 + minute * 60 + second - *offset_min * 60;
  const Millis at = secs * kSecondMs + frac_ms;  // 4-digit years: no overflow
  if (at < kTimeMin || at > kTimeMax)
    return std::nullopt;
  return at;
}

}  // namespace waymark
