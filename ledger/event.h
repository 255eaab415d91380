// Event and SignedEvent: an agent's event in its one canonical byte form, and the same event with
// the signature that vouches for it.
//
// Events come in as JSON (from agents and the CLI) or as canonical Cap'n Proto bytes (from a
// signed envelope). Either way they are checked against schemas/event.capnp before anything else
// looks at them: every field its kind needs is there ($required), deployment-scoped kinds name a
// deployment, sizes are within limits, numbers are in range. The JSON mapping is derived from the
// schema by reflection, so a new kind or field needs no code here:
//   - one flat object: "kind", "id", "actor", "deployment" and the kind's own fields side by side
//     ({"kind": "step.started", "id": "...", "actor": "rutger", "deployment": "d", "step": "x"});
//   - field names are the snake_case of the schema's (backupId -> "backup_id");
//   - "kind" picks the member of Event.body by its $kind name ("step.started");
//   - enums are kebab-case names ("blue-green"), read case-insensitively ("READY");
//   - $time fields are RFC 3339 strings, $hex Data fields hex, other Data base64;
//   - $jsonMap lists of {name, value} are one JSON object;
//   - a field the schema does not have is an error, never silently dropped;
//   - empty strings and empty lists are the same as absent.
// Names (id, actor, deployment, an enrolled name, roles) are 1-256 characters of letters, digits
// and ._-:@/+ so they can key indexes and never hide control characters. Kinds not marked
// $deploymentScoped must not carry a deployment ($deploymentOptional ones may). A maintenance window's "from" is before its "to";
// a traffic weight is 0..100; gate metrics are finite.
#pragma once

#include <capnp/message.h>
#include <kj/array.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "schemas/event.capnp.h"

namespace shiplog {

// Upper bound on an event's canonical size and on its JSON text. Sized for a policy file inside a
// policy.activated event; a deploy event is a few hundred bytes.
constexpr size_t kMaxEventBytes = 256 * 1024;

// The signature scheme of SignedEvent: Ed25519 over canonicalize(Event). See event.capnp.
constexpr std::string_view kSchemeEd25519Capnp = "shiplog-ed25519-capnp-v1";

// A checked event that owns its canonical bytes. Immutable, so cheap to move and to copy: copies
// share the bytes (and may be read from several threads at once).
class Event {
 public:
  // Parses canonical bytes (untrusted) with read limits and validates them. Refuses bytes that
  // are not the event's one canonical form: bits no field of the schema owns, or an empty text,
  // data or list written as present (empty is absent, as in the JSON form).
  static Result<Event> FromCanonical(std::string_view bytes);
  // The same for bytes FromCanonical already accepted (the ledger's own stored records, whose
  // leaf hash binds them; a copy of an Event), without encoding the event again to compare it
  // with them: that is a fifth of what a replay spends per record. Verify keeps the full check.
  static Result<Event> FromCheckedCanonical(std::string_view bytes);
  // Builds the event from its JSON form and validates it. Refuses a tree nested deeper than
  // kMaxJsonDepth before copying any part of it.
  static Result<Event> FromJson(const nlohmann::json& json);
  // Builds the event from a message the caller filled in (the ledger's own events), in its one
  // canonical form: empty text, data and lists are dropped.
  static Result<Event> FromBuilder(schema::Event::Reader event);

  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;
  Event(const Event& other);
  Event& operator=(const Event& other);
  ~Event();

  // The canonical bytes: what is signed.
  std::string_view bytes() const;
  // Valid while this Event lives; may be read any number of times.
  schema::Event::Reader reader() const;

  // The $kind name of the body's member ("step.started").
  std::string_view kind() const;
  std::string_view id() const;
  std::string_view actor() const;
  std::string_view deployment() const;

  // The JSON form; FromJson(ToJson()) gives back the same bytes.
  nlohmann::json ToJson() const;

  // One field of the JSON form by its dotted path ("image", "changes.db_migration",
  // "metrics.p99_ms"), read in place: exactly what ToJson() holds at that path, or nullopt where
  // it holds nothing. For a reader of a few fields (the policy's rules), without building the rest.
  std::optional<nlohmann::json> Field(std::string_view path) const;
  // A top-level text or enum field's JSON string ("step", "status"), read in place; "" when it is
  // absent or of another type (a time or a key is a string only in the JSON form: use Field).
  // Valid while this Event (or a copy) lives.
  std::string_view Text(std::string_view name) const;

 private:
  struct Impl;
  explicit Event(std::shared_ptr<const Impl> impl);
  static Result<Event> Decode(std::string_view bytes, bool compare_canonical_form);
  std::shared_ptr<const Impl> impl_;
};

// Every event kind's outside name, in schema order.
std::vector<std::string> EventKindNames();

// The fields of `event`'s kind marked $expected in the schema that it leaves out: taken anyway,
// and named under "missing" wherever its record is shown.
std::vector<std::string> MissingExpectedFields(const Event& event);

// Checks an event against the schema's rules (see above). Used on every decode.
Status ValidateEvent(schema::Event::Reader event);

namespace internal {
// Two ways to find canonical bytes that carry data no field of the schema owns, for an event
// already parsed as canonical and validated: by the layout the schema gives each struct (what
// Event::FromCanonical uses; an event holding a list of structs is compared with the copy), and
// by making the one canonical form and comparing (the reference).
// tests/ledger/untrusted_input_test.cc holds the two to the same answers.
Status CheckOnlyKnownFieldsByLayout(schema::Event::Reader event, std::string_view bytes);
Status CheckOnlyKnownFieldsByCopy(schema::Event::Reader event, std::string_view bytes);
}  // namespace internal

// An event and its signature, as an agent submits it and as the ledger keeps it. Two schemes
// (record.capnp SignedEvent): kSchemeEd25519Capnp, whose payload is the canonical Event, and
// "dsse-ed25519" (ledger/dsse_event.h), whose payload is a DSSE envelope and whose `event` is
// the event read from it.
struct SignedEvent {
  std::string scheme;      // kSchemeEd25519Capnp or dsse::kScheme
  std::string payload;     // the signed bytes: canonical Event; or the DSSE envelope's text
  std::string public_key;  // 32 raw bytes
  std::string signature;   // 64 raw bytes
  std::string event;       // dsse::kScheme: the canonical Event read from the envelope

  // Signs `event` with `key` under kSchemeEd25519Capnp.
  static SignedEvent Sign(const Event& event, const SigningKey& key);
  // The same for an event given as JSON, with "id" filled with a fresh one when it is absent;
  // an event that is not valid is refused (kInvalidArgument).
  static Result<SignedEvent> SignJson(nlohmann::json event, const SigningKey& key);

  // The signed attempt a policy.denied record holds.
  static SignedEvent OfDenial(schema::PolicyDenied::Reader denied);

  // The event this signs, decoded and checked (not the signature): the payload, or for a DSSE
  // envelope the event read from it.
  Result<Event> ReadEvent() const;
  // The canonical bytes of that event.
  std::string_view EventBytes() const;

  // Checks the scheme, sizes and the signature itself (for a DSSE envelope also that the event
  // is what the envelope says); says nothing of whether the key is enrolled (that is the
  // ledger's question).
  Status VerifySignature() const;

  // True when `other` is this signed event again (a repeat, not a conflict): the same payload,
  // or for a DSSE envelope the same event under the same signature, however the envelope's
  // JSON was spaced.
  bool SameSignedEvent(const SignedEvent& other) const;

  // The envelope's JSON form: {"scheme", "payload" (base64), "public_key" (hex),
  // "signature" (base64)}, and "event" (base64) for a DSSE envelope; FromJson refuses anything
  // else.
  nlohmann::json ToJson() const;
  static Result<SignedEvent> FromJson(const nlohmann::json& json);
  // True when `json` has the shape of an envelope rather than a bare event.
  static bool LooksLikeEnvelope(const nlohmann::json& json);
};

// How deep arrays and objects may nest in JSON from outside (an event has depth 2: the event
// object and a metrics object or a list inside it; envelopes, keys, receipts and bundles a few
// more). Like Cap'n Proto's ReaderOptions::nestingLimit: nlohmann's tree is copied, compared and
// printed by recursion, so a deeper tree would overflow the stack on whatever touches it.
constexpr size_t kMaxJsonDepth = 64;

// Refuses JSON text whose arrays and objects nest deeper than `max_depth`, without building a
// tree: one linear scan that skips strings (and their escapes). Text that is not JSON may pass;
// the parser judges that. The error names the depth and the byte where it was exceeded.
Status CheckJsonTextDepth(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Refuses a JSON tree nested deeper than `max_depth`, walking it without recursion (for trees
// built in-process from other sources).
Status CheckJsonDepth(const nlohmann::json& json, size_t max_depth = kMaxJsonDepth);

// Parses JSON text from outside: a size limit, then the nesting limit before any tree is built,
// then the parse, naming the position of a syntax error. Every reader of untrusted JSON text
// (HTTP bodies, event, key, receipt, checkpoint and bundle files, stored JSON) goes through here.
Result<nlohmann::json> ParseJsonText(std::string_view text, size_t max_bytes = kMaxEventBytes);

// JSON the ledger stored itself (a record's decision), read as any other untrusted text, since
// a record may have been tampered with or come inside a receipt: the nesting limit, no size
// limit. A discarded value (is_discarded()) when it does not parse.
nlohmann::json ParseStoredJson(std::string_view text);

// Well-formed UTF-8 (shortest forms of Unicode scalar values) with no NUL: text that JSON can
// carry and C strings cannot cut short.
bool IsCleanUtf8(std::string_view text);

// Appends `text` as a JSON string, escaped exactly as nlohmann::json's dump() escapes it with
// invalid UTF-8 replaced: quote, backslash and controls escaped, other characters as they are.
// Text that is not clean UTF-8 (a tampered record's) is left to nlohmann::json. For JSON written
// straight to text (receipts, decisions) that must equal the value printed.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace shiplog
