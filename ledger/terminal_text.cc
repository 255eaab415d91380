#include "ledger/terminal_text.h"

#include <cstdint>
#include <cstdio>

namespace shiplog {
namespace {

// The code point of the UTF-8 sequence at text[at], and its length; length 0 when the bytes there
// are not a valid, shortest-form encoding of a Unicode scalar value.
struct Decoded {
  uint32_t code_point = 0;
  size_t length = 0;
};

Decoded DecodeUtf8(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t cp = 0, min = 0;
  if (lead < 0x80) return {lead, 1};
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return {};
  }
  if (at + length > text.size()) return {};
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (cp < min || cp > 0x10FFFF || surrogate) return {};
  return {cp, length};
}

// Characters that are not shown as themselves but change how what follows is shown.
bool IsFormatting(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

void AppendEscape(std::string& out, const char* format, uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), format, static_cast<unsigned>(value));
  out += buf;
}

void AppendAscii(std::string& out, unsigned char c, Newlines newlines) {
  if (c >= 0x20 && c != 0x7F) {
    out += static_cast<char>(c);
  } else if (c == '\n') {
    out += newlines == Newlines::kKeep ? "\n" : "\\n";
  } else if (c == '\r') {
    out += "\\r";
  } else if (c == '\t') {
    out += newlines == Newlines::kKeep ? "\t" : "\\t";
  } else {
    AppendEscape(out, "\\x%02x", c);
  }
}

}  // namespace

std::string TerminalText(std::string_view text, Newlines newlines) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    const Decoded d = DecodeUtf8(text, at);
    if (d.length == 0) {
      AppendEscape(out, "\\x%02x", static_cast<unsigned char>(text[at]));
      at += 1;
    } else if (d.length == 1) {
      AppendAscii(out, static_cast<unsigned char>(text[at]), newlines);
      at += 1;
    } else {
      if (IsFormatting(d.code_point)) {
        AppendEscape(out, "\\u%04x", d.code_point);
      } else {
        out.append(text.substr(at, d.length));
      }
      at += d.length;
    }
  }
  return out;
}

}  // namespace shiplog
