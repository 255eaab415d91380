#include "replay/progress.h"

#include <unistd.h>

#include <cmath>

#include "ledger/clock.h"

namespace shiplog::replay {
namespace {

// A terminal redraw costs a write; a few per second reads as smooth.
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);

// "1,234,567": long counts are read at a glance.
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

ProgressLine::ProgressLine(std::string label, uint64_t total, std::FILE* out)
    : ProgressLine(std::move(label), total, out, out != nullptr && ::isatty(::fileno(out)) == 1) {}

ProgressLine::ProgressLine(std::string label, uint64_t total, std::FILE* out, bool enabled)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      enabled_(enabled && out != nullptr),
      start_(SteadyClock::now()),
      last_draw_(start_ - kRedrawEvery) {}  // the first Update draws at once

ProgressLine::~ProgressLine() { Finish(); }

std::string ProgressLine::Render(uint64_t done, double elapsed_seconds) const {
  std::string line = label_ + ": " + Grouped(done);
  if (total_ > 0) line += " / " + Grouped(total_);
  line += " records";
  if (elapsed_seconds <= 0) return line;
  const double rate = done / elapsed_seconds;
  line += "  " + Grouped(static_cast<uint64_t>(rate)) + "/s";
  if (total_ > done && rate > 0) {
    const double left = (total_ - done) / rate;
    line += "  about " + FormatDuration(static_cast<Micros>(std::ceil(left)) * kMicrosPerSecond) +
            " left";
  }
  return line;
}

void ProgressLine::Update(uint64_t done) {
  if (!enabled_ || finished_) return;
  const auto now = SteadyClock::now();
  if (now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  // \r and erase-to-end-of-line: the new text replaces the old however long either is.
  std::fprintf(out_, "\r%s\x1b[K", Render(done, elapsed).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (finished_) return;
  finished_ = true;
  if (drawn_) {
    std::fputs("\r\x1b[K", out_);
    std::fflush(out_);
  }
}

std::function<void(uint64_t)> ProgressLine::Callback() {
  return [this](uint64_t done) { Update(done); };
}

}  // namespace shiplog::replay
