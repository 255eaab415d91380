// The record schema for the console's in-browser verifier (adapters/console/verify.js), served at
// /ui/schema.json.
//
// The browser checks every record it shows (issue 21): it decodes the Merkle leaf input, which is
// canonical Cap'n Proto bytes of schemas/record.capnp Entry, and the event inside it, and rebuilds
// the event's JSON exactly as Event::ToJson (ledger/event.cc) writes it. To do that without a
// second, hand-written copy of the schema that could drift, it reads this description, made by
// Cap'n Proto reflection from the compiled schemas and named by the same helpers the event codec
// uses (ledger/event_schema.h), so a field's JSON name or an enum's can never disagree.
//
// {"format": "shiplog-console-schema-v1",
//  "entry": "Entry", "event": "Event",          the root structs of the leaf input and the event
//  "schemes": {"capnp": "shiplog-ed25519-capnp-v1", "dsse": "dsse-ed25519"},
//  "dsse_payload_types": {"shiplog_event": "...", "in_toto": "..."},
//  "structs": {NAME: {"id": "0x...", "data_words", "pointers",
//                     "discriminant_count", "discriminant_offset" (16-bit units; with a union),
//                     "fields": [FIELD, ...] (ordinal order)}},
//  "enums": {NAME: {"id": "0x...", "enumerants": ["unspecified", "blue-green", ...] (by ordinal)}}}
//
// FIELD: {"name" (the JSON name), "capnp_name", "type", "offset", ...}
//   type      void, bool, int8..int64, uint8..uint64, float32, float64, text, data, list, enum,
//             struct, group (a group shares its parent's sections), interface, any_pointer
//   offset    for data fields, in multiples of the field's own size (bits for bool, bytes for
//             8-bit types, ...) from the start of the data section; for pointer fields, the
//             pointer's index. Absent for groups.
//   struct    the struct or group's NAME (struct, group); "enum" the enum's NAME;
//   element   for lists: {"type", and "struct" or "enum" when it is one}
//   discriminant  the union member's discriminant value (only for union members)
//   default   a non-zero default value of a number or bool field (absent when zero)
//   hex, time, json_map, required, expected, deployment_scoped, deployment_optional: true when
//             the field carries that annotation (schemas/event.capnp); kind: a body member's
//             $kind name.
// NAME is the struct's name inside its file ("Entry", "Event.body", "Metric").
#pragma once

#include <nlohmann/json.hpp>

namespace shiplog::adapters {

// Every struct reachable from Entry and Event, and every enum they use. The same value on every
// call; cheap enough to build per request, but the server may keep it.
nlohmann::json ConsoleSchemaJson();

}  // namespace shiplog::adapters
