# The event: what an agent signs.
#
# An agent writes an event as JSON (see ledger/event.h for the mapping: field names are the
# snake_case of the names below, the union member is chosen by "kind"). shiplog turns it into the
# Event struct below and signs its canonical Cap'n Proto form:
#
#   signed bytes = capnp::canonicalize(Event)   -- one segment, no segment table, word 0 is the
#                                                  root pointer (Cap'n Proto encoding spec,
#                                                  "Canonicalization")
#   signature    = Ed25519(secret key, signed bytes)   -- pure Ed25519, RFC 8032, no prehash
#
# The scheme name "shiplog-ed25519-capnp-v1" (record.capnp, SignedEvent.scheme) names exactly this.
# The ledger refuses payloads that are not canonical (MessageReader::isCanonical), so one event has
# one byte form and one signature check.
#
# Never renumber a field. New kinds are new union members; new fields are new ordinals.

@0xdfb68af3262f8eb7;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shiplog::schema");

# The event kind's name on the outside ("step.started"). Put on every member of Event.body.
annotation kind @0xe2f3e255bec9c20e (field) :Text;

# The field must be present (JSON) and non-empty (text, data, lists) or not "unspecified" (enums).
annotation required @0x8754f2ffa5f04998 (field) :Void;

# The field is asked for but not required: an event without it is still taken (a rollback must
# never be bounced for a missing detail, R17), and its record lists the field under "missing".
annotation expected @0x9c3e5f7a1b2d4e60 (field) :Void;

# An Int64 holding microseconds since the Unix epoch; RFC 3339 ("2026-11-24T10:00:00Z") in JSON.
annotation time @0xd554840beac30842 (field) :Void;

# A Data field shown as lowercase hex in JSON (keys, digests); other Data fields are base64.
annotation hex @0xe0f1c7a4a2b6d3c1 (field) :Void;

# A List of {name, value} structs shown as one JSON object {"name": value, ...}.
annotation jsonMap @0xc6f4b8a9d1e2f3a5 (field) :Void;

# The kind belongs to one deployment: Event.deployment is required.
annotation deploymentScoped @0xb5a4c3d2e1f0a9b8 (field) :Void;

# The kind may belong to one deployment: Event.deployment is optional (an enforcement point's
# decision names the deployment it found, when it found one).
annotation deploymentOptional @0xa1b2c3d4e5f60718 (field) :Void;

struct Event {
  id @0 :Text $required;
  # Chosen by the agent, unique among its own events (`shiplog sign` draws 128 random bits when the
  # JSON has none). The ledger keeps (actor, id) unique: the same signed event sent twice is stored
  # once, and a different event under a used id is refused as a conflict.

  actor @1 :Text $required;
  # The agent's enrolled name. The ledger checks that it is the name the signing key was enrolled
  # under.

  deployment @2 :Text;
  # The deployment this event belongs to, named by its coordinator (e.g. "checkout-2026-11-24.1").
  # Required for kinds marked $deploymentScoped; empty for environment-wide and admin kinds.

  body :union {
    deployRequested @3 :DeployRequested $kind("deploy.requested") $deploymentScoped;
    review @4 :Review $kind("review") $deploymentScoped;
    stepStarted @5 :StepStarted $kind("step.started") $deploymentScoped;
    stepReported @6 :StepReported $kind("step.reported") $deploymentScoped;
    gateResult @7 :GateResult $kind("gate.result") $deploymentScoped;
    backupVerified @8 :BackupVerified $kind("backup.verified") $deploymentScoped;
    trafficShifted @9 :TrafficShifted $kind("traffic.shifted") $deploymentScoped;
    rollbackStarted @10 :Rollback $kind("rollback.started") $deploymentScoped;
    rollbackCompleted @11 :Rollback $kind("rollback.completed") $deploymentScoped;
    incidentOpened @12 :Incident $kind("incident.opened");
    incidentResolved @13 :Incident $kind("incident.resolved");
    maintenanceWindow @14 :MaintenanceWindow $kind("maintenance.window");
    waiverGranted @15 :WaiverGranted $kind("waiver.granted") $deploymentScoped;
    deployCompleted @16 :DeployCompleted $kind("deploy.completed") $deploymentScoped;
    keyEnrolled @17 :KeyEnrolled $kind("key.enrolled");
    keyRevoked @18 :KeyRevoked $kind("key.revoked");
    policyActivated @19 :PolicyActivated $kind("policy.activated");
    ledgerGenesis @20 :LedgerGenesis $kind("ledger.genesis");
    policyDenied @21 :PolicyDenied $kind("policy.denied") $deploymentScoped;
    enforcementDecided @22 :EnforcementDecided $kind("enforcement.decided") $deploymentOptional;
    attestationStored @23 :AttestationStored $kind("attestation.stored") $deploymentScoped;
  }
}

# ---- deployment-scoped kinds ----

enum Strategy {
  unspecified @0;
  rolling @1;
  blueGreen @2;  # "blue-green" in JSON
  canary @3;
  recreate @4;
}

enum Migration {
  none @0;         # no database change
  additive @1;     # expand: new tables or columns, old code keeps working
  destructive @2;  # contract: drops or rewrites data
}

enum Risk {
  unspecified @0;
  low @1;
  high @2;
}

struct Changes {
  infra @0 :Bool;             # infrastructure changes (security review before production, R11)
  dbMigration @1 :Migration;  # what the migration does to the data (R7)
  reversible @2 :Bool;        # the migration has a tested down path (R7)
  recoveryDoc @3 :Text;       # where the recovery procedure is written, if not reversible (R7)
  network @4 :Bool;           # network policy or routing changes
  cdn @5 :Bool;               # CDN configuration changes
  resourcesChanged @6 :UInt32;  # infrastructure resources the plan changes (R8 blast radius)
}

# Intent: start a deployment of one app version to one environment.
struct DeployRequested {
  app @0 :Text $required;
  environment @1 :Text $required;
  version @2 :Text $required;
  image @3 :Text $required;        # the artifact, pinned "repo@sha256:<64 hex>" (R9)
  strategy @4 :Strategy $required;
  changes @5 :Changes;
  risk @6 :Risk $required;
  plannedSteps @7 :List(Text);     # the chain's steps this deployment runs, in order
  source @8 :Source;               # the commit it deploys (GitHub's protection rule finds it)
}

# Where a deployment's code comes from: the repository and the commit a CI run builds, as a
# GitHub deployment names them ("Codertocat/Hello-World", the commit sha).
struct Source {
  repository @0 :Text $required;   # OWNER/REPO
  commit @1 :Text $required;       # the full commit sha
}

enum Verdict {
  unspecified @0;
  approved @1;
  rejected @2;
}

# Fact: a review of the change (merge, security, blast-radius, ...).
struct Review {
  subject @0 :Text $required;
  verdict @1 :Verdict $required;
  image @2 :Text;     # the digest reviewed, when the review is bound to one
  comment @3 :Text;
}

# Intent: the actor is about to apply one step of the chain.
struct StepStarted {
  step @0 :Text $required;
  image @1 :Text;     # the artifact the step applies; the requested image when empty
}

enum ReportStatus {
  unspecified @0;
  ready @1;     # READY: the step is done and verified
  blocked @2;   # BLOCKED: the step cannot go on; the chain halts (R2)
  failed @3;    # FAILED: the step failed; the chain halts (R2)
}

# Fact: a step's completion report (seed 000's READY/BLOCKED/FAILED confirmation).
struct StepReported {
  step @0 :Text $required;
  status @1 :ReportStatus $required;
  details @2 :Text;
  blockers @3 :List(Text);
  image @4 :Text;     # the digest running in the step's zone, when the report is about one
}

enum Outcome {
  unspecified @0;
  pass @1;
  fail @2;
}

struct Metric {
  name @0 :Text;
  value @1 :Float64;  # finite: NaN and infinities are refused (they have no single byte form)
}

# Fact: an automated gate's result (tests, lint, scan, smoke, health, analysis, ...).
struct GateResult {
  gate @0 :Text $required;
  outcome @1 :Outcome $required;
  metrics @2 :List(Metric) $jsonMap;
  image @3 :Text;     # the digest the gate ran against
  step @4 :Text;      # the step (zone) it ran in, when it belongs to one
  predicateType @5 :Text;
  # When the result was read from a signed in-toto statement (ledger/dsse_event.h): its
  # predicate type ("https://slsa.dev/provenance/v1").
  producer @6 :Text;  # and what produced it: the builder id, scanner URI or test run URL
}

# Fact: a backup was taken and verified for this deployment (R7, R12).
struct BackupVerified {
  scope @0 :Text $required;
  backupId @1 :Text $required;
  restoreTested @2 :Bool;
}

# Intent: move a share of the traffic to the new version (canary phases, R15).
struct TrafficShifted {
  weight @0 :UInt8 $required;   # percent, 0..100
}

# Fact: a rollback began or ended. Rollbacks are never denied (R17).
struct Rollback {
  zone @0 :Text;
  reason @1 :Text $expected;
}

# Intent: the deployment is finished (R16).
struct DeployCompleted {
  summary @0 :Text;
}

# Fact: a signed in-toto statement whose predicate shiplog does not read, kept as evidence of the
# deployment (ledger/dsse_event.h). Listable; no policy rule can require it.
struct AttestationStored {
  predicateType @0 :Text $required;
  subjects @1 :List(Text) $required;  # each subject as "NAME@sha256:HEX" ("sha256:HEX" unnamed)
  statementSha256 @2 :Data $hex $required;   # SHA-256 of the statement's bytes
}

# ---- environment-wide kinds ----

# Fact: an incident opened in or resolved for an environment (R6).
struct Incident {
  environment @0 :Text $required;
  incident @1 :Text $required;
  severity @2 :Text;
}

# Fact: a maintenance window for an environment (R14).
struct MaintenanceWindow {
  environment @0 :Text $required;
  from @1 :Int64 $time $required;
  to @2 :Int64 $time $required;
}

# Fact: break-glass. A waiver-role holder lifts one named rule for this deployment (R17).
struct WaiverGranted {
  rule @0 :Text $required;
  reason @1 :Text $required;
}

# Fact: an enforcement point outside shiplog (a Kubernetes admission webhook, a GitHub deployment
# protection rule) asked whether a deploy may go ahead, and the server that answered recorded its
# answer, signed by the server's integration key. Admission records its denials; GitHub every
# decision. The deployment is the one the answer concerns, when one was found.
struct EnforcementDecided {
  point @0 :Text $required;        # "kubernetes-admission", "github-deployment-protection-rule"
  request @1 :Text $required;      # the outside request's id: the AdmissionReview uid, the delivery
  subject @2 :Text $required;      # what was judged: "Deployment production/web", "OWNER/REPO@SHA"
  environment @3 :Text;            # the policy's environment the request was judged for
  step @4 :Text;                   # that environment's step
  images @5 :List(Text);           # the images judged
  allowed @6 :Bool;
  decision @7 :Text $required;     # the decision as JSON: {"allowed", "reasons": [{"rule", ...}]}
}

# ---- admin kinds (signed by a key holding the admin role) ----

# A key pair bound to an agent's name and roles, from this event's sequence number on.
struct KeyEnrolled {
  name @0 :Text $required;
  publicKey @1 :Data $hex $required;   # Ed25519, 32 bytes
  roles @2 :List(Text) $required;
}

# The key signs nothing valid after this event; what it signed before stays valid.
struct KeyRevoked {
  publicKey @0 :Data $hex $required;
  reason @1 :Text;
}

# A policy file became the active policy (the policy issue gives it meaning).
struct PolicyActivated {
  name @0 :Text;
  content @1 :Text $required;
  sha256 @2 :Data $hex $required;   # SHA-256 of content's UTF-8 bytes
}

# ---- the ledger's own kinds (signed by the ledger key) ----

# Record 0 of every ledger: who the ledger is and who administers it. Self-signed by ledgerKey.
struct LedgerGenesis {
  ledgerKey @0 :Data $hex $required;   # the ledger's Ed25519 public key; signs receipts
  adminName @1 :Text $required;
  adminKey @2 :Data $hex $required;    # enrolled with the role "admin" at sequence 0
  manualClock @3 :Bool;
  # A drill or test ledger: its time moves only by `shiplog clock advance/set`, never by the
  # system clock. Every receipt and `verify` repeat this, so a drill is never taken for real.
  formatVersion @4 :UInt32;            # 1
  origin @5 :Text;                     # a name for this log, unique to it (checkpoints use it)
  policy @6 :Text;
  # The policy file in force from the start (the default pack unless `init --policy` named
  # another), until an admin's policy.activated replaces it. The ledger stores it; the policy
  # engine reads it.
  policySha256 @7 :Data $hex;          # SHA-256 of policy's UTF-8 bytes
}

# An intent the policy denied, recorded by the ledger so auditors see every attempt. The denied
# event itself is kept as it was signed; it is not a fact of the deployment.
struct PolicyDenied {
  payload @0 :Data $required;       # the denied event's signed bytes (canonical Event)
  publicKey @1 :Data $hex $required;
  signature @2 :Data $required;
  decision @3 :Text $required;      # the decision as JSON: every failing rule with its reason
  scheme @4 :Text;
  # The attempt's signature scheme (record.capnp SignedEvent) when it is not
  # "shiplog-ed25519-capnp-v1": "dsse-ed25519", whose payload is the envelope.
  event @5 :Data;                   # the event read from a "dsse-ed25519" payload
}
