// TerminalText: attacker text made safe to print where a person reads it.
//
// Event fields, file names and command-line arguments are attacker text. Printed raw, an ESC
// starts a terminal control sequence (recolouring, moving the cursor, rewriting earlier lines),
// a right-to-left override (U+202E) reorders what follows it on screen, and a line separator
// (U+2028) or a newline forges a line of its own. Every line shiplog prints for a person goes
// through TerminalText(); JSON output is escaped by its writer instead.
#pragma once

#include <string>
#include <string_view>

namespace shiplog {

enum class Newlines {
  kEscape,  // "\n" is shown as the two characters \n: one field, one line
  kKeep,    // "\n" (and a tab) stay as they are: a message of several lines shiplog composed
};

// `text` with every character that could change how the terminal shows it written as a visible
// escape, and every other character unchanged:
//   C0 controls and DEL          \x1b  (and \n \r \t as such)
//   C1 controls (U+0080-U+009F)  \u0085
//   bidi controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069),
//   line and paragraph separators (U+2028, U+2029)   \u202e
//   bytes that are not valid UTF-8 (stray, overlong, surrogates, above U+10FFFF)  \xff
std::string TerminalText(std::string_view text, Newlines newlines = Newlines::kEscape);

}  // namespace shiplog
