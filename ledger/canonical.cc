#include "ledger/canonical.h"

#include <kj/exception.h>

#include <cstdint>
#include <cstring>

namespace shiplog {

Result<CanonicalMessage> CanonicalMessage::Parse(std::string_view bytes, size_t max_bytes) {
  return Make(bytes, max_bytes, /*in_place=*/false);
}

Result<CanonicalMessage> CanonicalMessage::ParseInPlace(std::string_view bytes, size_t max_bytes) {
  return Make(bytes, max_bytes, /*in_place=*/true);
}

Result<CanonicalMessage> CanonicalMessage::Make(std::string_view bytes, size_t max_bytes,
                                                bool in_place) {
  if (bytes.size() > max_bytes) {
    return Status::InvalidArgument("the message is " + std::to_string(bytes.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return Status::InvalidArgument("the bytes are not whole Cap'n Proto words");
  }
  CanonicalMessage out;
  out.state_ = std::make_unique<State>();
  State& s = *out.state_;
  const size_t word_count = bytes.size() / sizeof(capnp::word);
  if (in_place && reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    s.segment = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), word_count);
  } else {
    s.words = kj::heapArray<capnp::word>(word_count);
    std::memcpy(s.words.begin(), bytes.data(), bytes.size());
    s.segment = s.words.asPtr();
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = word_count * 2 + 64;  // no amplification past 2x
  options.nestingLimit = 16;
  bool canonical = false;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
    s.reader.emplace(kj::arrayPtr(&s.segment, 1), options);
    canonical = s.reader->isCanonical();
  })) {
    return Status::InvalidArgument("the bytes do not decode: " +
                                   std::string(e->getDescription().cStr()));
  }
  if (!canonical) return Status::InvalidArgument("the bytes are not in canonical Cap'n Proto form");
  // A canonical message is laid out in preorder with no shared or overlapping objects, so reading
  // it cannot amplify: the reader that callers use may read it any number of times.
  options.traversalLimitInWords = kj::maxValue;
  s.reader.reset();
  s.reader.emplace(kj::arrayPtr(&s.segment, 1), options);
  return out;
}

std::string_view CanonicalMessage::bytes() const {
  auto b = state_->segment.asBytes();
  return std::string_view(reinterpret_cast<const char*>(b.begin()), b.size());
}

}  // namespace shiplog
