// DSSE: the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1.0.2), the signed
// form the in-toto and Sigstore world uses. shiplog takes events and in-toto statements in it
// (the "dsse-ed25519" scheme of a stored record, ledger/event.h) and issues deploy-authorization
// attestations in it.
//
//   signature = Ed25519(PAE(payloadType, payload))
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// LEN is the decimal byte length (UTF-8 bytes, not characters). The envelope's JSON form is
// {"payload": base64(body), "payloadType": type, "signatures": [{"keyid": K, "sig": base64}]}.
// keyid is an unauthenticated hint; shiplog names an Ed25519 key in it by KeyId() below, and the
// signature decides.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog::dsse {

// The scheme name a stored record gives an event that came in a DSSE envelope.
inline constexpr std::string_view kScheme = "dsse-ed25519";
// The payload types shiplog takes: a shiplog event as JSON, and an in-toto Statement v1.
inline constexpr std::string_view kShiplogEventType = "application/vnd.shiplog.event+json";
inline constexpr std::string_view kInTotoType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";

// The bytes a DSSE signature covers.
std::string Pae(std::string_view payload_type, std::string_view payload);

struct Signature {
  std::string keyid;  // may be empty
  std::string sig;    // raw signature bytes
};

struct Envelope {
  std::string payload_type;
  std::string payload;  // the decoded body: the bytes PAE covers and the application reads
  std::vector<Signature> signatures;

  // Parses an envelope's JSON text (ParseJsonText's limits). Refuses a missing or mistyped
  // field, a field the spec does not have, no signature, and base64 that is not canonical
  // (DecodeBase64), naming the field.
  static Result<Envelope> Parse(std::string_view json_text);
  static Result<Envelope> FromJson(const nlohmann::json& json);
  // Standard base64 for payload and sig; keyid only when set.
  nlohmann::json ToJson() const;
  std::string Pae() const { return dsse::Pae(payload_type, payload); }
};

// True when `json` has an envelope's shape (a "payloadType" and "payload") rather than a
// shiplog SignedEvent's or a bare event's.
bool LooksLikeEnvelope(const nlohmann::json& json);

// Decodes the base64 DSSE verifiers must accept: the standard alphabet with its padding, or the
// URL-safe alphabet with or without padding. Refuses anything else, and a text that is not the
// one encoding of its bytes (set bits past the data, whitespace, a mixed alphabet), so one body
// has one envelope text per alphabet.
Result<std::string> DecodeBase64(std::string_view text);

// How shiplog names an Ed25519 key in a keyid: lowercase hex SHA-256 of its 32 raw bytes (what
// go-securesystemslib does).
std::string KeyId(std::string_view public_key);

// One Ed25519 signature by `key` over PAE, with keyid KeyId(key.PublicKey()).
Envelope Sign(std::string payload_type, std::string payload, const SigningKey& key);

// OK when a signature whose keyid is KeyId(public_key) verifies over PAE; kInvalidArgument
// naming the fault otherwise (no signature by that key, a signature that is not 64 bytes or
// does not verify).
Status Verify(const Envelope& envelope, std::string_view public_key);

}  // namespace shiplog::dsse
