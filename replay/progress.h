// ProgressLine: one line on a terminal that says how far a long fold has come.
//
// "replay: 412,000 / 1,000,000 records  81,230/s  about 7s left", redrawn in place (carriage
// return) at most a few times a second, and erased when the work is done. When the stream is not
// a terminal (a pipe, a file, a test) it prints nothing at all, so scripts and JSON consumers see
// only what they asked for.
//
// Any loop that counts records can drive it: call Update(done) as often as convenient (it is
// cheap when nothing is due), or hand Callback() to code that reports a record count.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace shiplog::replay {

class ProgressLine {
 public:
  // Writes to `out` (stderr by default) only when it is a terminal; `total` is 0 when unknown
  // (then no time left is estimated).
  explicit ProgressLine(std::string label, uint64_t total = 0, std::FILE* out = stderr);
  // Forces the line on or off whatever `out` is (for tests of the drawing itself).
  ProgressLine(std::string label, uint64_t total, std::FILE* out, bool enabled);
  ~ProgressLine();  // Finish()
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  void set_total(uint64_t total) { total_ = total; }

  // `done` records so far; redraws when the last redraw is old enough.
  void Update(uint64_t done);
  // Erases the line (once; later calls do nothing).
  void Finish();

  // Update as a callback: for code that reports a running record count.
  std::function<void(uint64_t)> Callback();

  // The line's text for `done` records after `elapsed_seconds` (exposed for tests).
  std::string Render(uint64_t done, double elapsed_seconds) const;

 private:
  using SteadyClock = std::chrono::steady_clock;

  std::string label_;
  uint64_t total_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  SteadyClock::time_point start_;
  SteadyClock::time_point last_draw_;
};

}  // namespace shiplog::replay
