// libFuzzer target: the headers of a signed read (adapters/http_signature.h) as `shiplog serve`
// parses them before any signature is checked: Signature-Input, Signature, Date, and the request
// target the signature base is built from. The input is those four, one per line. Whatever the
// input, parsing returns a Status and never crashes; what parses keeps its meaning through a round
// trip (a header written back out parses to the same thing and writes out the same bytes), and a
// signature base built from parsed parts holds no line break it did not put there itself.
// Seeds: tests/fuzz/corpus/signature.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http_signature.h"

namespace {

namespace adapters = shiplog::adapters;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

// The input's first `n` lines (missing ones empty); the last takes the rest.
std::vector<std::string> Lines(std::string_view data, size_t n) {
  std::vector<std::string> lines;
  while (lines.size() + 1 < n) {
    const size_t end = data.find('\n');
    if (end == std::string_view::npos) break;
    lines.emplace_back(data.substr(0, end));
    data.remove_prefix(end + 1);
  }
  lines.emplace_back(data);
  lines.resize(n);
  return lines;
}

bool SameInput(const adapters::SignatureInput& a, const adapters::SignatureInput& b) {
  if (a.label != b.label || a.components != b.components || a.params.size() != b.params.size()) {
    return false;
  }
  for (size_t i = 0; i < a.params.size(); ++i) {
    if (a.params[i].name != b.params[i].name || a.params[i].value != b.params[i].value) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts =
      Lines(std::string_view(reinterpret_cast<const char*>(data), size), 4);
  const std::string& input_header = parts[0];
  const std::string& signature_header = parts[1];
  const std::string& date = parts[2];
  const std::string& target = parts[3];

  auto input = adapters::ParseSignatureInput(input_header);
  if (input.ok()) {
    const std::string written = input->HeaderValue();
    auto again = adapters::ParseSignatureInput(written);
    Check(again.ok() && SameInput(*input, *again));
    Check(again->HeaderValue() == written);
    auto values = adapters::ComponentValues(input->components, {"GET", target, date});
    if (values.ok()) {
      Check(values->size() == input->components.size());
      auto base = adapters::SignatureBase(*input, *values);
      if (base.ok()) {
        size_t lines = 1;
        for (char c : *base) lines += c == '\n' ? 1 : 0;
        Check(lines == input->components.size() + 1);  // one per component, then the params
      }
    }
  }

  auto signature = adapters::ParseSignatureHeader(signature_header);
  if (signature.ok()) {
    const std::string written = adapters::SignatureHeaderValue(signature->first, signature->second);
    auto again = adapters::ParseSignatureHeader(written);
    Check(again.ok() && *again == *signature);
  }

  auto when = adapters::ParseHttpDate(date);
  if (when.ok()) {
    const std::string written = adapters::HttpDate(*when);
    auto again = adapters::ParseHttpDate(written);
    Check(again.ok() && *again == *when);
  }
  return 0;
}
