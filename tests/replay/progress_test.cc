// The progress line: drawn on a terminal, silent on a pipe.
#include "replay/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;

// What a ProgressLine writes into a pipe: its read end collects everything after `draw` ran.
template <typename Draw>
std::string ThroughAPipe(Draw draw) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::FILE* out = ::fdopen(fds[1], "w");
  draw(out);
  std::fclose(out);
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  return got;
}

TEST(ProgressLine, QuietWhenTheStreamIsNotATerminal) {
  std::string got = ThroughAPipe([](std::FILE* out) {
    ProgressLine progress("replay", 1000, out);
    EXPECT_FALSE(progress.enabled());
    auto callback = progress.Callback();
    for (uint64_t i = 1; i <= 1000; ++i) callback(i);
  });
  EXPECT_EQ(got, "");
}

TEST(ProgressLine, DrawsAndErasesItsLineWhenEnabled) {
  std::string got = ThroughAPipe([](std::FILE* out) {
    ProgressLine progress("replay", 1000, out, /*enabled=*/true);
    progress.Update(10);  // the first update draws at once
    progress.Finish();
  });
  EXPECT_THAT(got, HasSubstr("\rreplay: 10 / 1,000 records"));
  EXPECT_THAT(got, ::testing::EndsWith("\r\x1b[K"));
}

TEST(ProgressLine, RendersCountRateAndTimeLeft) {
  ProgressLine progress("verify", 1'000'000, nullptr, false);
  EXPECT_EQ(progress.Render(250'000, 2.0),
            "verify: 250,000 / 1,000,000 records  125,000/s  about 6s left");
  progress.set_total(0);
  EXPECT_EQ(progress.Render(1234, 0.5), "verify: 1,234 records  2,468/s");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
