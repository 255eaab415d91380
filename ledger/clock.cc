#include "ledger/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace shiplog {

Micros SystemClock::NowMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// Days from 1970-01-01 to the civil date (proleptic Gregorian), after H. Hinnant's algorithm.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month, day;
};

// The inverse of DaysFromCivil, after the same algorithm; valid for any int64 day count that a
// Micros value can produce.
CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

// Floor division, so times before 1970 land in the right day and second.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool ReadDigits(const std::string& s, size_t& pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool Expect(const std::string& s, size_t& pos, char c) {
  if (pos >= s.size() || (s[pos] != c && !(c == 'T' && (s[pos] == 't' || s[pos] == ' ')))) {
    return false;
  }
  ++pos;
  return true;
}

}  // namespace

Result<Micros> ParseTime(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + text +
                                   "' is not an RFC 3339 time like 2026-11-24T10:00:00Z");
  };
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, day) || !Expect(text, pos, 'T') ||
      !ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, second)) {
    return bad();
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 59) {
    return bad();
  }
  Micros fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) fraction = fraction * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 6; ++i) fraction *= 10;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!ReadDigits(text, pos, 2, oh) || !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, om)) {
      return bad();
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  int64_t days = DaysFromCivil(year, month, day);
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  const Micros t = seconds * kMicrosPerSecond + fraction;
  if (!IsAcceptedTime(t)) {
    return Status::InvalidArgument("'" + text +
                                   "' is outside the accepted times, 0001-01-01T00:00:00Z to "
                                   "9999-12-31T23:59:59.999999Z");
  }
  return t;
}

std::string FormatTime(Micros t) {
  // By hand rather than gmtime/strftime: those depend on time_t's range and print years below
  // 1000 without padding, which ParseTime would not read back.
  int64_t seconds = t / kMicrosPerSecond, micros = t % kMicrosPerSecond;
  if (micros < 0) {  // round toward the earlier second (no overflow at INT64_MIN this way)
    micros += kMicrosPerSecond;
    seconds -= 1;
  }
  const int64_t days = FloorDiv(seconds, 86400);
  const int64_t in_day = seconds - days * 86400;
  const CivilDate date = CivilFromDays(days);
  char buf[80];
  const bool four_digits = date.year >= 1 && date.year <= 9999;
  std::snprintf(buf, sizeof buf,
                four_digits ? "%04lld-%02u-%02uT%02lld:%02lld:%02lld"
                            : "%+lld-%02u-%02uT%02lld:%02lld:%02lld",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(in_day / 3600), static_cast<long long>(in_day / 60 % 60),
                static_cast<long long>(in_day % 60));
  std::string out = buf;
  if (micros != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
    out += frac;
  }
  return out + "Z";
}

Result<Micros> ParseDuration(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + text +
                                   "' is not a duration like 15m, 1h30m, 90s, 500ms or 2d");
  };
  if (text.empty()) return bad();
  Micros total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    int64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      if (value > 1'000'000'000) return bad();
      ++pos;
    }
    if (pos == start) return bad();
    // An optional decimal fraction ("0.5s", "1.5h"), kept to the microsecond.
    int64_t fraction = 0, fraction_scale = 1;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      size_t digits_start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (fraction_scale < 1'000'000'000) {
          fraction = fraction * 10 + (text[pos] - '0');
          fraction_scale *= 10;
        }
        ++pos;
      }
      if (pos == digits_start) return bad();
    }
    size_t unit_start = pos;
    while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
    std::string unit = text.substr(unit_start, pos - unit_start);
    Micros scale;
    if (unit == "ms") scale = 1000;
    else if (unit == "s") scale = kMicrosPerSecond;
    else if (unit == "m") scale = kMicrosPerMinute;
    else if (unit == "h") scale = 60 * kMicrosPerMinute;
    else if (unit == "d") scale = 24 * 60 * kMicrosPerMinute;
    else return bad();
    total += value * scale + fraction * scale / fraction_scale;
  }
  return total;
}

std::string FormatDuration(Micros d) {
  if (d < 0) return "-" + FormatDuration(-d);
  std::string out;
  int64_t days = d / (24 * 60 * kMicrosPerMinute);
  d %= 24 * 60 * kMicrosPerMinute;
  int64_t hours = d / (60 * kMicrosPerMinute);
  d %= 60 * kMicrosPerMinute;
  int64_t minutes = d / kMicrosPerMinute;
  d %= kMicrosPerMinute;
  if (days) out += std::to_string(days) + "d";
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (d || out.empty()) {
    int64_t seconds = d / kMicrosPerSecond, micros = d % kMicrosPerSecond;
    out += std::to_string(seconds);
    if (micros) {
      char frac[16];
      std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
      std::string f = frac;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "s";
  }
  return out;
}

}  // namespace shiplog
