// TerminalText (ledger/terminal_text.h): what may reach a terminal from attacker text.
#include "ledger/terminal_text.h"

#include <gtest/gtest.h>

namespace shiplog {
namespace {
namespace SHIPLOG_THIS_FILE {

TEST(TerminalText, PrintableTextIsUnchanged) {
  EXPECT_EQ(TerminalText("staging READY: 3 pods, p99 42 ms"), "staging READY: 3 pods, p99 42 ms");
  EXPECT_EQ(TerminalText("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x9a\x80"), "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x9a\x80");
  EXPECT_EQ(TerminalText(""), "");
}

TEST(TerminalText, AsciiControlsAndDelAreEscaped) {
  EXPECT_EQ(TerminalText("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(TerminalText(std::string("\0\x07\x7f", 3)), "\\x00\\x07\\x7f");
  EXPECT_EQ(TerminalText("one\ntwo\r\tthree"), "one\\ntwo\\r\\tthree");
}

TEST(TerminalText, NewlinesMayBeKeptForComposedMessages) {
  EXPECT_EQ(TerminalText("one\n\ttwo\x1b\n", Newlines::kKeep), "one\n\ttwo\\x1b\n");
  EXPECT_EQ(TerminalText("a\rb", Newlines::kKeep), "a\\rb");
}

TEST(TerminalText, C1ControlsAreEscaped) {
  EXPECT_EQ(TerminalText("\xc2\x85\xc2\x9b" "31m"), "\\u0085\\u009b31m");
  EXPECT_EQ(TerminalText("\xc2\xa0"), "\xc2\xa0") << "U+00A0 is printable";
}

TEST(TerminalText, BidiControlsAndSeparatorsAreEscaped) {
  EXPECT_EQ(TerminalText("\xe2\x80\xae" "gnp.exe"), "\\u202egnp.exe");
  EXPECT_EQ(TerminalText("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "a\\u2028b\\u2029");
  EXPECT_EQ(TerminalText("\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9\xd8\x9c"),
            "\\u200e\\u200f\\u202a\\u2066\\u2069\\u061c");
}

TEST(TerminalText, InvalidUtf8IsEscapedByteByByte) {
  EXPECT_EQ(TerminalText("a\xff" "b"), "a\\xffb");
  EXPECT_EQ(TerminalText("\xc0\xaf"), "\\xc0\\xaf") << "overlong";
  EXPECT_EQ(TerminalText("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a surrogate";
  EXPECT_EQ(TerminalText("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80") << "above U+10FFFF";
  EXPECT_EQ(TerminalText("\xe2\x80"), "\\xe2\\x80") << "cut short";
  EXPECT_EQ(TerminalText("\xe2\x80" "a"), "\\xe2\\x80a");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog
