// Events in DSSE envelopes: the "dsse-ed25519" scheme of a stored record (record.capnp).
//
// An agent in the in-toto/Sigstore world signs a DSSE envelope (ledger/dsse.h) with its enrolled
// Ed25519 key, naming the key in the signature's keyid by dsse::KeyId (the hex SHA-256 of the
// raw key: `shiplog key show` prints it). Two payload types are taken:
//   application/vnd.shiplog.event+json   a shiplog event's JSON (as `shiplog sign` reads it),
//                                        with its own id, actor and deployment;
//   application/vnd.in-toto+json         an in-toto Statement v1 (ledger/intoto.h). A statement
//                                        names no deployment, so the submitter gives one
//                                        (`--deployment`, `?deployment=`), and that
//                                        deployment's requested image must be one of the
//                                        statement's subjects: the fact is about that digest.
//                                        The event's actor is the signing key's enrolled name;
//                                        its id is "intoto:" and 32 hex digits of
//                                        SHA-256(PAE || 0x00 || deployment), so the same
//                                        statement sent twice for a deployment is stored once.
// The record keeps the envelope's text exactly as submitted, the key, the signature, and the
// event read from it; verifying the record reads the event from the envelope again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/dsse.h"
#include "ledger/event.h"
#include "ledger/status.h"

namespace shiplog {

// Every event `envelope` can stand for, signed by `actor` for `deployment`: the one shiplog
// event, or one fact per subject of an in-toto statement (each naming its subject's digest as
// its image; one attestation.stored for a predicate shiplog does not read). kInvalidArgument
// naming the fault for a payload type not listed above or a payload that is not what its type
// says.
Result<std::vector<Event>> EnvelopeEvents(const dsse::Envelope& envelope, std::string_view actor,
                                          std::string_view deployment);

// The stored form of an event read from an envelope: scheme "dsse-ed25519", the envelope's
// text, the signer's key and signature, and the event.
SignedEvent DsseSignedEvent(std::string envelope_text, std::string public_key,
                            std::string signature, const Event& event);

// SignedEvent::VerifySignature for "dsse-ed25519": the envelope parses, holds `signature` under
// the key's keyid, the signature verifies over PAE, and `event` is one the envelope stands for
// (EnvelopeEvents under the event's own actor and deployment). kBadSignature otherwise.
Status VerifyDsseSignedEvent(const SignedEvent& signed_event);

}  // namespace shiplog
