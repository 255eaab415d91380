#include "ledger/dsse_event.h"

#include "ledger/crypto.h"
#include "ledger/intoto.h"

namespace shiplog {
namespace {

using nlohmann::json;

std::string StatementEventId(const dsse::Envelope& envelope, std::string_view deployment) {
  std::string bound = envelope.Pae();
  bound.push_back('\0');
  bound += deployment;
  return "intoto:" + HexEncode(AsBytes(Sha256(bound))).substr(0, 32);
}

Result<std::vector<Event>> StatementEvents(const dsse::Envelope& envelope, std::string_view actor,
                                           std::string_view deployment) {
  SHIPLOG_ASSIGN_OR_RETURN(intoto::Statement statement, intoto::ParseStatement(envelope.payload));
  if (deployment.empty()) {
    return Status::InvalidArgument(
        "an in-toto statement names no deployment: give the deployment it is evidence for "
        "(--deployment, or ?deployment= on POST /v1/events)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<json> facts, intoto::Facts(statement, envelope.payload));
  const std::string id = StatementEventId(envelope, deployment);
  std::vector<Event> out;
  for (json& fact : facts) {
    fact["id"] = id;
    fact["actor"] = std::string(actor);
    fact["deployment"] = std::string(deployment);
    auto event = Event::FromJson(fact);
    if (!event.ok()) return event.status().Prefixed("the statement's fact");
    out.push_back(std::move(event).value());
  }
  return out;
}

}  // namespace

Result<std::vector<Event>> EnvelopeEvents(const dsse::Envelope& envelope, std::string_view actor,
                                          std::string_view deployment) {
  if (envelope.payload_type == dsse::kInTotoType) {
    return StatementEvents(envelope, actor, deployment);
  }
  if (envelope.payload_type != dsse::kShiplogEventType) {
    return Status::InvalidArgument(
        "the envelope's payloadType '" + envelope.payload_type + "' is not one shiplog takes (" +
        std::string(dsse::kShiplogEventType) + ", " + std::string(dsse::kInTotoType) + ")");
  }
  auto parsed = ParseJsonText(envelope.payload);
  if (!parsed.ok()) return parsed.status().Prefixed("the envelope's shiplog event");
  auto event = Event::FromJson(*parsed);
  if (!event.ok()) return event.status().Prefixed("the envelope's shiplog event");
  if (!deployment.empty() && event->deployment() != deployment) {
    return Status::InvalidArgument("the envelope's event belongs to deployment '" +
                                   std::string(event->deployment()) + "', not '" +
                                   std::string(deployment) + "'");
  }
  std::vector<Event> out;
  out.push_back(std::move(event).value());
  return out;
}

SignedEvent DsseSignedEvent(std::string envelope_text, std::string public_key,
                            std::string signature, const Event& event) {
  SignedEvent out;
  out.scheme = std::string(dsse::kScheme);
  out.payload = std::move(envelope_text);
  out.public_key = std::move(public_key);
  out.signature = std::move(signature);
  out.event = std::string(event.bytes());
  return out;
}

Status VerifyDsseSignedEvent(const SignedEvent& signed_event) {
  auto envelope = dsse::Envelope::Parse(signed_event.payload);
  if (!envelope.ok()) return Status::BadSignature(envelope.status().message());
  const std::string keyid = dsse::KeyId(signed_event.public_key);
  bool held = false;
  for (const dsse::Signature& s : envelope->signatures) {
    held = held || (s.keyid == keyid && s.sig == signed_event.signature);
  }
  if (!held) {
    return Status::BadSignature("the envelope holds no such signature under keyid " + keyid);
  }
  if (!VerifySignature(signed_event.public_key, envelope->Pae(), signed_event.signature)) {
    return Status::BadSignature("the DSSE signature by key " + HexEncode(signed_event.public_key) +
                                " does not verify over the envelope's PAE");
  }
  auto event = Event::FromCanonical(signed_event.event);
  if (!event.ok())
    return Status::BadSignature("the event read from the envelope: " + event.status().message());
  auto candidates = EnvelopeEvents(*envelope, event->actor(), event->deployment());
  if (!candidates.ok()) return Status::BadSignature(candidates.status().message());
  for (const Event& candidate : *candidates) {
    if (candidate.bytes() == event->bytes()) return Status::Ok();
  }
  return Status::BadSignature("the event stored with the envelope is not what the envelope says");
}

}  // namespace shiplog
