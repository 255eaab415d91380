# A snapshot: the ledger's folded state just after one record, so a replay at a later point folds
# only the records after it (replay/snapshot.h).
#
# File layout (DIR/snapshots/<seq, 20 digits>.snap, written to a .tmp and renamed): one
# SnapshotFile message, a flat single-segment array of words. SnapshotFile.content holds the
# Snapshot message's bytes, also a flat array; SnapshotFile.sha256 is SHA-256(content), so a
# damaged file is refused before anything in it is read.
#
# A snapshot is a cache, never evidence: it is bound to its ledger (origin, ledger key) and to its
# history (the RFC 6962 root of the tree of records 0..seq, which must equal the root of the
# ledger's checkpoint at size seq + 1). One from another ledger or from a rewritten log is refused,
# and a refused snapshot only costs a longer fold from genesis.
#
# Never renumber a field. A reader refuses a formatVersion it does not know.

@0xb3ae68dbabe89ee9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shiplog::schema::snapshot");  # apart from event.capnp's names

struct SnapshotFile {
  formatVersion @0 :UInt32;  # 3 (2 is still read)
  content @1 :Data;          # a Snapshot message (flat array of words)
  sha256 @2 :Data;           # SHA-256(content), 32 bytes
}

struct Snapshot {
  formatVersion @0 :UInt32;  # 3 (2 is still read)
  origin @1 :Text;           # the ledger's origin (its checkpoints' first line)
  ledgerKey @2 :Data;        # the ledger's Ed25519 public key, 32 bytes
  seq @3 :UInt64;            # the last record folded in
  treeRoot @4 :Data;         # RFC 6962 root of records 0..seq, 32 bytes
  lastTime @5 :Int64;        # ledger time of record seq, microseconds since the epoch
  policy @6 :PolicyInForce;
  keys @7 :List(Key);
  deployments @8 :List(Deployment);  # format 3: those in progress; 2: every one
  environment @9 :Environment;
}

# The policy decisions were made under at seq, and the record that made it so.
struct PolicyInForce {
  present @0 :Bool;    # false while the log names no policy (nothing is folded then)
  seq @1 :UInt64;      # the genesis or policy.activated record that carried it
  sha256 @2 :Text;     # hex; checked against that record when the snapshot is loaded
}

# A key of the registry, by the records that enrolled and revoked it; loading re-reads and
# re-applies those records, so the registry always comes from the log itself.
struct Key {
  publicKey @0 :Data;
  enrolledSeq @1 :UInt64;
  revoked @2 :Bool;
  revokedSeq @3 :UInt64;
}

# policy/engine.h Fact.
struct Fact {
  seq @0 :UInt64;
  time @1 :Int64;
  kind @2 :Text;
  actor @3 :Text;
  roles @4 :List(Text);
  fields @5 :Text;     # the event's JSON form (Event::ToJson), as text
  image @6 :Text;
  signer @7 :Text;     # the signing key, hex (format 2)
}

enum StepStatus {
  notStarted @0;
  started @1;
  ready @2;
  blocked @3;
  failed @4;
}

struct Step {
  name @0 :Text;
  status @1 :StepStatus;
  startedSeq @2 :UInt64;
  reportSeq @3 :UInt64;
  readySince @4 :Int64;
  image @5 :Text;
}

struct Waiver {
  rule @0 :Text;       # the rule id it lifts
  seq @1 :UInt64;
  actor @2 :Text;
  reason @3 :Text;
}

enum DeploymentStatus {
  requested @0;
  completed @1;
  rolledBack @2;
}

# policy/engine.h DeploymentState; its indexes are rebuilt from the facts on load.
struct Deployment {
  id @0 :Text;
  hasRequest @1 :Bool;
  request @2 :Fact;
  status @3 :DeploymentStatus;
  facts @4 :List(Fact);
  steps @5 :List(Step);
  halted @6 :Bool;
  haltedStep @7 :Text;
  canaryWeight @8 :UInt32;
  canaryPhaseStart @9 :Int64;
  canaryPhaseSeq @10 :UInt64;
  waivers @11 :List(Waiver);
}

struct Incident {
  environment @0 :Text;
  incident @1 :Text;
  seq @2 :UInt64;
}

struct MaintenanceWindow {
  environment @0 :Text;
  seq @1 :UInt64;
  from @2 :Int64;
  to @3 :Int64;
}

struct InProgress {
  app @0 :Text;
  environment @1 :Text;
  deployment @2 :Text;
}

struct RevokedKey {
  publicKey @0 :Text;  # hex
  seq @1 :UInt64;      # its key.revoked record
}

# policy/engine.h EnvironmentState.
struct Environment {
  openIncidents @0 :List(Incident);
  windows @1 :List(MaintenanceWindow);
  inProgress @2 :List(InProgress);
  revokedKeys @3 :List(RevokedKey);  # format 2
}
