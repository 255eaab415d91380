// libFuzzer target: untrusted bytes into every decoder of the append path. Whatever the input,
// decoding returns a Status and never crashes, leaks or reads out of bounds; what decodes must
// encode back to the same bytes. Seeds: tests/fuzz/corpus/event (run by run_event_fuzz.sh).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ledger/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto event = shiplog::Event::FromCanonical(bytes);
  if (event.ok()) {
    (void)event->ToJson().dump();  // strict: throws on text that is not UTF-8
    auto again = shiplog::Event::FromJson(event->ToJson());
    if (!again.ok() || again->bytes() != event->bytes()) std::abort();
  }
  auto json = shiplog::ParseJsonText(bytes);
  if (json.ok()) {
    // The text scan and the tree agree on depth: whatever parsed is within the nesting limit.
    if (!shiplog::CheckJsonDepth(*json).ok()) std::abort();
    auto from_json = shiplog::Event::FromJson(*json);
    if (shiplog::SignedEvent::LooksLikeEnvelope(*json)) {
      auto envelope = shiplog::SignedEvent::FromJson(*json);
      if (envelope.ok()) (void)envelope->VerifySignature();
    }
  }
  return 0;
}
