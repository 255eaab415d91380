// Calendars on the tz database (Howard Hinnant's date library over the system's zoneinfo): an
// instant is read on the calendar's local clock, and the windows are compared there. Going from
// UTC to local time is always one answer, so a DST gap or overlap needs no rule of its own: a
// window 09:00-18:00 is 08:00-17:00 UTC in winter and 07:00-16:00 UTC in summer in Amsterdam, and
// local times that a spring-forward skips simply never occur.
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>

#include "policy/policy.h"

namespace shiplog::policy {
namespace {

using Minutes = std::chrono::minutes;
using LocalMinutes = date::local_time<Minutes>;

const char* const kDayNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

LocalMinutes LocalMinuteAt(const date::time_zone& zone, Micros t) {
  const date::sys_time<std::chrono::microseconds> instant{std::chrono::microseconds(t)};
  return date::floor<Minutes>(zone.to_local(instant));
}

std::string HourMinute(int minute_of_day) {
  char text[24];
  std::snprintf(text, sizeof text, "%02d:%02d", minute_of_day / 60, minute_of_day % 60);
  return text;
}

std::string LocalDateTime(LocalMinutes local) {
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u %s", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                HourMinute(static_cast<int>((local - day).count())).c_str());
  return text;
}

}  // namespace

const date::time_zone* FindTimeZone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;  // not in the database (or no database at all)
  }
}

std::optional<int64_t> LocalMinutesSinceEpoch(int year, unsigned month, unsigned day, int hour,
                                              int minute) {
  const date::year_month_day ymd{date::year(year), date::month(month), date::day(day)};
  if (!ymd.ok()) return std::nullopt;
  const LocalMinutes at = date::local_days(ymd) + std::chrono::hours(hour) + Minutes(minute);
  return at.time_since_epoch().count();
}

std::string WeeklyWindow::ToString() const {
  std::string days_text;
  for (int day : days) days_text += (days_text.empty() ? "" : ",") + std::string(kDayNames[day]);
  return days_text + " " + HourMinute(from_minute) + "-" + HourMinute(to_minute);
}

std::string DateSpan::ToString() const {
  return LocalDateTime(LocalMinutes(Minutes(from_minute))) + " to " +
         LocalDateTime(LocalMinutes(Minutes(to_minute)));
}

void Calendar::PrepareOffsets() {
  offsets.clear();
  if (zone == nullptr) return;
  const date::sys_seconds last{std::chrono::seconds(7258118400)};  // 2200-01-01
  date::sys_seconds at{std::chrono::seconds(0)};
  while (at < last) {
    const date::sys_info info = zone->get_info(at);
    offsets.emplace_back(at.time_since_epoch().count(),
                         static_cast<int32_t>(info.offset.count()));
    if (info.end <= at) break;
    at = info.end;
  }
}

namespace {

// Minutes since 1970-01-01T00:00 on the calendar's clock: from its offset table, or through the
// tz library past the table's end.
int64_t LocalMinutesOf(const Calendar& c, Micros t) {
  const int64_t seconds = t >= 0 ? t / kMicrosPerSecond : -((-t + kMicrosPerSecond - 1) / kMicrosPerSecond);
  auto after = std::upper_bound(
      c.offsets.begin(), c.offsets.end(), seconds,
      [](int64_t s, const std::pair<int64_t, int32_t>& entry) { return s < entry.first; });
  const bool in_table = after != c.offsets.begin() && after != c.offsets.end();
  if (!in_table) return LocalMinuteAt(*c.zone, t).time_since_epoch().count();
  const int64_t local = seconds + std::prev(after)->second;
  return local >= 0 ? local / 60 : -((-local + 59) / 60);
}

}  // namespace

const std::string* Calendar::WindowAt(Micros t, std::string* window) const {
  if (zone == nullptr) return nullptr;
  const int64_t since_epoch = LocalMinutesOf(*this, t);
  const int64_t day = since_epoch >= 0 ? since_epoch / 1440 : -((-since_epoch + 1439) / 1440);
  const int weekday = static_cast<int>(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  const int minute = static_cast<int>(since_epoch - day * 1440);
  for (const WeeklyWindow& w : weekly) {
    const bool on_day = std::find(w.days.begin(), w.days.end(), weekday) != w.days.end();
    if (on_day && w.from_minute <= minute && minute < w.to_minute) {
      *window = w.ToString();
      return window;
    }
  }
  for (const DateSpan& span : dates) {
    if (span.from_minute <= since_epoch && since_epoch < span.to_minute) {
      *window = span.ToString();
      return window;
    }
  }
  return nullptr;
}

bool Calendar::Contains(Micros t) const {
  std::string unused;
  return WindowAt(t, &unused) != nullptr;
}

std::string Calendar::LocalTime(Micros t) const {
  if (zone == nullptr) return FormatTime(t);
  const LocalMinutes local = LocalMinuteAt(*zone, t);
  const int weekday = static_cast<int>(date::weekday(date::floor<date::days>(local)).c_encoding());
  return std::string(kDayNames[weekday]) + " " + LocalDateTime(local) + " " + time_zone;
}

}  // namespace shiplog::policy
