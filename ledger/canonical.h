// Canonical Cap'n Proto messages: the one way shiplog turns a struct into bytes to sign, hash or
// store, and the one way it reads such bytes back (untrusted: limits, and canonical form checked).
#pragma once

#include <capnp/message.h>
#include <kj/array.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace shiplog {

// canonicalize(reader) as a byte string: one segment, no segment table.
template <typename Reader>
std::string CanonicalBytes(Reader reader) {
  kj::Array<capnp::word> words = capnp::canonicalize(reader);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A Data field's bytes as a string.
inline std::string BytesOf(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

// Owns a copy of canonical bytes and reads them. Moving keeps readers valid (the words live on
// the heap).
class CanonicalMessage {
 public:
  // Fails with kInvalidArgument when the bytes are larger than `max_bytes`, not whole words, do
  // not decode within the read limits, or are not in canonical form.
  static Result<CanonicalMessage> Parse(std::string_view bytes, size_t max_bytes);
  // Parse() without the copy when `bytes` start on a word boundary (a heap string's do), for a
  // message read on the spot: the message then reads `bytes`, which must outlive it.
  static Result<CanonicalMessage> ParseInPlace(std::string_view bytes, size_t max_bytes);

  // May be read any number of times.
  // REQUIRES: the bytes were parsed as this type's message. Reading a malformed field throws
  // kj::Exception; callers that read untrusted fields catch it at their boundary.
  template <typename T>
  typename T::Reader Root() const {
    return state_->reader->template getRoot<T>();
  }

  std::string_view bytes() const;

 private:
  static Result<CanonicalMessage> Make(std::string_view bytes, size_t max_bytes, bool in_place);

  struct State {
    kj::Array<capnp::word> words;            // the copy, when the message holds one
    kj::ArrayPtr<const capnp::word> segment;  // `words`, or the bytes read in place
    std::optional<capnp::SegmentArrayMessageReader> reader;  // in place: one allocation fewer
  };
  std::unique_ptr<State> state_;
};

}  // namespace shiplog
