# What the ledger stores and what it answers with.
#
# Storage layout (ledger/rocks_store.cc): the "records" column family maps the 8-byte big-endian
# sequence number to one Record message (a flat single-segment array of words). A Record holds the
# canonical bytes of an Entry, which is the Merkle-tree leaf:
#
#   leaf input = canonicalize(Entry)            -- the exact bytes in Record.entry
#   leaf hash  = SHA-256(0x00 || leaf input)    -- RFC 6962 section 2.1 leaf hash
#
# Everything the ledger adds (sequence number, ledger time) sits inside the Entry beside the
# agent's signed bytes, so the leaf hash commits to both. Readers re-check the leaf hash and
# canonical form of every record they decode: bytes from our own database are still untrusted.
#
# Never renumber a field.

@0xd2c7e8f1a3b4c5d6;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shiplog::schema");

# An event as its signer sent it. Keeps the exact signed bytes and the scheme's name, so a second
# scheme (DSSE envelopes) can be added without changing the record format.
struct SignedEvent {
  scheme @0 :Text;
  # "shiplog-ed25519-capnp-v1": payload is canonicalize(Event) (event.capnp) and signature is
  # pure Ed25519 (RFC 8032) over exactly those bytes.

  # "dsse-ed25519": payload is a DSSE envelope's JSON text exactly as it was submitted
  # (ledger/dsse.h), and signature is its Ed25519 signature, with keyid the hex SHA-256 of
  # publicKey, over PAE(payloadType, the envelope's decoded payload). `event` holds the event
  # the ledger read from it.

  payload @1 :Data;     # the exact bytes that were signed (or the envelope that holds them)
  publicKey @2 :Data;   # the signer's Ed25519 public key, 32 bytes
  signature @3 :Data;   # 64 bytes

  event @4 :Data;
  # For a scheme whose payload is not itself canonicalize(Event) ("dsse-ed25519"): the canonical
  # Event the ledger read from the payload: a shiplog event's JSON as it is, or the fact an
  # in-toto statement states, under the signer's enrolled name and the deployment it was
  # submitted for (ledger/dsse_event.h). Checking the signature reads it again from the payload
  # and refuses a record where the two differ. Empty for "shiplog-ed25519-capnp-v1".
}

# The Merkle leaf: one appended event and what the ledger added to it.
struct Entry {
  seq @0 :UInt64;          # 0 for the genesis, then +1 for each record, no gaps
  ledgerTime @1 :Int64;    # microseconds since the Unix epoch, assigned on append, never decreasing
  event @2 :SignedEvent;
  manualClock @3 :Bool;    # the ledger's time was set by hand (a drill ledger), as in its genesis
  decision @4 :Text;
  # The policy's decision on the event, as JSON, when the gate judged it (an intent). Kept in the
  # leaf so that what the policy said is as tamper-evident as the event itself.
}

# The value stored under a sequence number.
struct Record {
  entry @0 :Data;      # canonicalize(Entry): the leaf input
  leafHash @1 :Data;   # SHA-256(0x00 || entry), 32 bytes
}

# The ledger's answer to an accepted append. Other systems check it offline with the ledger's
# public key: `entry` hashes to `leafHash`, `inclusionProof` leads from it to the root of
# `checkpoint`, and the checkpoint is signed by the ledger key; every other field is read from the
# entry. One signature per commit covers every receipt of the batch.
struct Receipt {
  seq @0 :UInt64;          # where the event is in the log
  ledgerTime @1 :Int64;    # microseconds since the Unix epoch
  leafHash @2 :Data;       # the record's leaf hash
  eventId @3 :Text;        # Event.id
  actor @4 :Text;          # Event.actor
  manualClock @5 :Bool;    # the ledger runs on a manual clock: its times are not real
  ledgerKey @6 :Data;      # the ledger's Ed25519 public key, 32 bytes
  payloadHash @7 :Data;    # SHA-256 of the signed event bytes (SignedEvent.payload)
  decision @8 :Text;       # the policy's decision on the event, as JSON, when it judged one
  denied @9 :Bool;
  # The event was an intent the policy denied: `seq` is the policy.denied record that keeps the
  # attempt, not the event itself.
  checkpoint @10 :Text;
  # A signed checkpoint (ledger/checkpoint.h: C2SP tlog-checkpoint note) whose tree includes `seq`.
  inclusionProof @11 :List(Data);
  # The RFC 9162 audit path of leaf `seq` in the checkpoint's tree, leaf side first, 32 bytes each.
  entry @12 :Data;         # canonicalize(Entry): the record's leaf input, which the proof proves
  duplicate @13 :Bool;     # the append repeated a stored event; this is the first one's receipt
}
