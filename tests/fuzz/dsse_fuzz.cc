// libFuzzer target: DSSE envelopes and in-toto statements, as POST /v1/events and `shiplog submit
// --dsse` read them. Whatever the input, parsing returns a Status and never crashes. What parses
// keeps its meaning through a round trip: an envelope written back out (ToJson) parses to the same
// envelope, base64 decodes and re-encodes to the same bytes, a statement's subjects are digests,
// and every event an envelope stands for (EnvelopeEvents) re-encodes to the same bytes.
// Seeds: tests/fuzz/corpus/dsse (tests/vectors/dsse.json, tests/vectors/intoto/).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "ledger/dsse.h"
#include "ledger/dsse_event.h"
#include "ledger/event.h"
#include "ledger/intoto.h"

namespace {

using shiplog::Event;
namespace dsse = shiplog::dsse;
namespace intoto = shiplog::intoto;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

bool SameEnvelope(const dsse::Envelope& a, const dsse::Envelope& b) {
  if (a.payload_type != b.payload_type || a.payload != b.payload ||
      a.signatures.size() != b.signatures.size()) {
    return false;
  }
  for (size_t i = 0; i < a.signatures.size(); ++i) {
    if (a.signatures[i].keyid != b.signatures[i].keyid ||
        a.signatures[i].sig != b.signatures[i].sig) {
      return false;
    }
  }
  return true;
}

// Every event the envelope stands for encodes back to itself, as a stored record's would.
void CheckEvents(const dsse::Envelope& envelope) {
  auto events = shiplog::EnvelopeEvents(envelope, "ci-bot", "d-1");
  if (!events.ok()) return;
  Check(!events->empty());
  for (const Event& event : *events) {
    auto again = Event::FromJson(event.ToJson());
    Check(again.ok() && again->bytes() == event.bytes());
  }
}

void CheckEnvelope(std::string_view text) {
  auto envelope = dsse::Envelope::Parse(text);
  if (!envelope.ok()) return;
  Check(!envelope->signatures.empty());
  const std::string written = envelope->ToJson().dump();
  auto again = dsse::Envelope::Parse(written);
  Check(again.ok() && SameEnvelope(*envelope, *again));
  Check(again->ToJson().dump() == written);
  // Anyone's key: no fuzzed envelope carries its signature, so verifying must refuse.
  static const std::string kAnyKey = shiplog::SigningKey::Generate().PublicKey();
  Check(!dsse::Verify(*envelope, kAnyKey).ok());
  CheckEvents(*envelope);
}

void CheckStatement(std::string_view text) {
  auto statement = intoto::ParseStatement(text);
  if (!statement.ok()) return;
  Check(!statement->subjects.empty());
  for (const intoto::Subject& subject : statement->subjects) {
    Check(subject.sha256.size() == 64 &&
          subject.sha256.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  auto facts = intoto::Facts(*statement, text);
  if (facts.ok()) Check(!facts->empty());
}

void CheckBase64(std::string_view text) {
  auto bytes = dsse::DecodeBase64(text);
  if (!bytes.ok()) return;
  auto again = dsse::DecodeBase64(shiplog::Base64Encode(*bytes));
  Check(again.ok() && *again == *bytes);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  shiplog::InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckEnvelope(text);
  CheckStatement(text);
  if (size <= 4096) CheckBase64(text);
  return 0;
}
