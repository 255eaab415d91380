// Queries over the secondary indexes (ledger/index.h):
//   (1) a rapidcheck property: on random ledgers (deployments of several apps and environments,
//       agents with roles, steps, images, denials and waivers through a test gate) and random
//       filters, Query() returns exactly what a brute-force scan of a model of the ledger, kept
//       by the test as it appended, says;
//   (2) indexes deleted, or the index version gone, are rebuilt on Open and queries stay right;
//   (3) Verify names a missing, changed or stray index entry.
// The model is written from what the test appended, not from the index code, so the two are
// independent.
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "ledger/index.h"
#include "raw_db.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::AppendGate;
using shiplog::EncodeSeq;
using shiplog::Ledger;
using shiplog::QueryFilter;
using shiplog::SigningKey;
using shiplog::StoredRecord;
using ::testing::HasSubstr;

const std::vector<std::string> kApps = {"checkout", "search"};
const std::vector<std::string> kEnvironments = {"staging", "production"};
const std::vector<std::string> kSteps = {"build", "staging", "production"};
const std::vector<std::string> kDeployments = {"d0", "d1", "d2", "d3"};

std::string Digest(int i) { return "sha256:" + std::string(64, static_cast<char>('a' + i)); }
std::string ImageRef(int i) { return "registry.example/app@" + Digest(i); }

struct Agent {
  std::string name;
  std::vector<std::string> roles;
  SigningKey key = SigningKey::Generate();
};

// What the test knows of each record it caused, for the brute-force answer.
struct ModelRecord {
  uint64_t seq = 0;
  Micros time = 0;
  std::string kind, deployment, app, environment, step, image;  // image: the digest
  std::set<std::string> actors, roles, outcomes;
};

// Judges intents: a production step.started is denied; everything else is allowed, and an
// intent of a deployment with a waiver is allowed "by" that waiver.
class TestGate final : public AppendGate {
 public:
  Verdict Admit(const shiplog::Event& event, const shiplog::KeyInfo&, Micros) override {
    Verdict verdict;
    const std::string kind(event.kind());
    if (kind != "deploy.requested" && kind != "step.started" && kind != "traffic.shifted") {
      return verdict;
    }
    if (kind == "step.started" && event.ToJson()["step"] == "production") {
      verdict.denied = true;
      verdict.decision = R"({"allowed":false,"reasons":[{"rule":"R10"}]})";
      return verdict;
    }
    const bool waived = waived_.count(std::string(event.deployment())) > 0;
    verdict.decision = waived ? R"({"allowed":true,"evidence":[{"rule":"R10","waiver":{"seq":1}}]})"
                              : R"({"allowed":true,"evidence":[{"rule":"R1","events":[1]}]})";
    return verdict;
  }
  void Appended(uint64_t, Micros, const shiplog::Event& event, const shiplog::KeyInfo&) override {
    if (event.kind() == "waiver.granted") waived_.insert(std::string(event.deployment()));
  }
  bool Waived(const std::string& deployment) const { return waived_.count(deployment) > 0; }

 private:
  std::set<std::string> waived_;
};

// A ledger with a test gate, its agents, and the model of every record. `pick(n)` chooses
// 0..n-1: rapidcheck in the property, a seeded generator elsewhere.
class ModelLedger {
 public:
  using Pick = std::function<int(int)>;

  explicit ModelLedger(Pick pick) : pick_(std::move(pick)) {
    Check(t_.Init(), "Init");
    Reopen();
    model_.push_back(Fact(0, "ledger.genesis", {"shiplog"}, {}));
    agents_.push_back(Agent{"leon", {"coordinator", "deployer"}});
    agents_.push_back(Agent{"rutger", {"k8s-operator"}});
    agents_.push_back(Agent{"iwona", {"waiver", "deployer"}});
    for (Agent& a : agents_) {
      auto r = t_.Enroll(a.name, a.key, a.roles);
      model_.push_back(Fact(r.seq, "key.enrolled", {"admin"}, {"admin"}));
      model_.back().time = r.ledger_time;
    }
  }

  void Reopen() {
    t_.Close();
    gate_ = TestGate();
    auto opened = Ledger::Open(t_.dir(), &t_.clock, &gate_);
    Check(opened.status(), "Open");
    t_.ledger = std::move(opened).value();
  }
  Ledger& ledger() { return *t_.ledger; }
  const std::string& dir() const { return t_.dir(); }
  std::string db() const { return t_.dir() + "/db"; }
  const std::vector<ModelRecord>& model() const { return model_; }
  void Close() { t_.Close(); }

  // Appends `n` random events.
  void AppendRandom(int n) {
    for (int i = 0; i < n; ++i) {
      t_.clock.Advance(pick_(3) * shiplog::kMicrosPerMinute);  // equal times happen too
      AppendOne();
    }
  }

  // A random filter over the values this ledger uses (and a few it does not).
  QueryFilter RandomFilter() {
    QueryFilter f;
    auto maybe = [&](std::string& field, const std::vector<std::string>& values) {
      if (pick_(4) == 0) field = values[pick_(static_cast<int>(values.size()))];
    };
    maybe(f.deployment, {"d0", "d1", "d2", "d3", "nope"});
    maybe(f.app, {"checkout", "search", "nope"});
    maybe(f.environment, {"staging", "production"});
    maybe(f.actor, {"leon", "rutger", "iwona", "shiplog", "admin"});
    maybe(f.role, {"coordinator", "deployer", "k8s-operator", "waiver", "admin"});
    maybe(f.kind, {"step.started", "policy.denied", "deploy.requested", "gate.result",
                   "waiver.granted", "incident.opened"});
    maybe(f.step, kSteps);
    maybe(f.image, {Digest(0), ImageRef(1), Digest(2), "other@" + Digest(0)});
    maybe(f.decision, {"allowed", "denied"});
    f.waivers = pick_(6) == 0;
    const int last = static_cast<int>(model_.size());
    if (pick_(5) == 0) f.from_seq = pick_(last + 1);
    if (pick_(5) == 0) f.to_seq = pick_(last + 1);
    const Micros span = model_.back().time - kT0 + shiplog::kMicrosPerMinute;
    if (pick_(4) == 0) f.since = kT0 + pick_(static_cast<int>(span / shiplog::kMicrosPerMinute)) * shiplog::kMicrosPerMinute;
    if (pick_(4) == 0) f.until = kT0 + pick_(static_cast<int>(span / shiplog::kMicrosPerMinute)) * shiplog::kMicrosPerMinute;
    return f;
  }

 private:
  ModelRecord Fact(uint64_t seq, const std::string& kind, std::set<std::string> actors,
                   std::set<std::string> roles) {
    ModelRecord m;
    m.seq = seq;
    m.time = kT0;
    m.kind = kind;
    m.actors = std::move(actors);
    m.roles = std::move(roles);
    return m;
  }

  void AppendOne() {
    Agent& agent = agents_[pick_(static_cast<int>(agents_.size()))];
    const std::string deployment = kDeployments[pick_(static_cast<int>(kDeployments.size()))];
    ModelRecord m;
    m.deployment = deployment;
    json event;
    switch (pick_(7)) {
      case 0: {
        const std::string app = kApps[pick_(2)], env = kEnvironments[pick_(2)];
        const int image = pick_(3);
        event = EventJson("deploy.requested", agent.name, deployment,
                          {{"app", app}, {"environment", env}, {"version", "1.0"},
                           {"image", ImageRef(image)}, {"strategy", "rolling"}, {"risk", "low"}});
        m.app = app;
        m.environment = env;
        m.image = Digest(image);
        if (!requests_.count(deployment)) requests_[deployment] = {app, env, Digest(image)};
        break;
      }
      case 1:
      case 2: {
        m.step = kSteps[pick_(3)];
        json body = {{"step", m.step}};
        if (pick_(2) == 0) {
          const int image = pick_(3);
          body["image"] = ImageRef(image);
          m.image = Digest(image);
        } else if (requests_.count(deployment)) {
          m.image = requests_[deployment].image;
        }
        event = EventJson("step.started", agent.name, deployment, body);
        break;
      }
      case 3: {
        const bool stepped = pick_(2) == 0;
        const int image = pick_(3);
        json body = {{"gate", "tests"}, {"outcome", "pass"}, {"image", ImageRef(image)}};
        if (stepped) body["step"] = m.step = kSteps[pick_(3)];
        m.image = Digest(image);
        event = EventJson("gate.result", agent.name, deployment, body);
        break;
      }
      case 4:
        event = EventJson("waiver.granted", agent.name, deployment,
                          {{"rule", "R10"}, {"reason", "hotfix"}});
        m.outcomes.insert("waived");
        break;
      case 5:
        event = TrafficShiftedJson(agent.name, 10 * pick_(11), deployment);
        break;
      default:
        m.deployment.clear();
        m.environment = kEnvironments[pick_(2)];
        event = EventJson("incident.opened", agent.name, "",
                          {{"environment", m.environment}, {"incident", NextId("INC")}});
        break;
    }
    if (!m.deployment.empty() && m.app.empty() && requests_.count(deployment)) {
      m.app = requests_[deployment].app;
      m.environment = requests_[deployment].environment;
    }
    const bool waived_before = gate_.Waived(deployment);
    shiplog::Receipt r = t_.Append(event, agent.key);
    m.seq = r.seq;
    m.time = r.ledger_time;
    m.kind = r.denied ? "policy.denied" : std::string(event["kind"]);
    m.actors = {agent.name};
    if (r.denied) m.actors.insert("shiplog");
    m.roles.insert(agent.roles.begin(), agent.roles.end());
    if (r.denied) {
      m.outcomes.insert("denied");
    } else if (!r.decision.empty()) {
      m.outcomes.insert("allowed");
      if (waived_before) m.outcomes.insert("waived");
    }
    model_.push_back(std::move(m));
  }

  struct Request {
    std::string app, environment, image;
  };

  Pick pick_;
  TestLedger t_;
  TestGate gate_;  // outlives the ledger, which holds a pointer to it
  std::vector<Agent> agents_;
  std::map<std::string, Request> requests_;
  std::vector<ModelRecord> model_;
};

bool Matches(const ModelRecord& m, const QueryFilter& f) {
  auto one = [](const std::string& want, const std::string& have) {
    return want.empty() || want == have;
  };
  auto any = [](const std::string& want, const std::set<std::string>& have) {
    return want.empty() || have.count(want) > 0;
  };
  const std::string image =
      f.image.empty() ? "" : f.image.substr(f.image.rfind('@') == std::string::npos ? 0 : f.image.rfind('@') + 1);
  return m.seq >= f.from_seq && (!f.to_seq || m.seq <= *f.to_seq) &&
         (!f.since || m.time >= *f.since) && (!f.until || m.time < *f.until) &&
         one(f.deployment, m.deployment) && one(f.kind, m.kind) && one(f.app, m.app) &&
         one(f.environment, m.environment) && one(f.step, m.step) && one(image, m.image) &&
         any(f.actor, m.actors) && any(f.role, m.roles) && any(f.decision, m.outcomes) &&
         (!f.waivers || m.outcomes.count("waived") > 0);
}

std::vector<uint64_t> BruteForce(const std::vector<ModelRecord>& model, const QueryFilter& f) {
  std::vector<uint64_t> seqs;
  for (const ModelRecord& m : model) {
    if (Matches(m, f)) seqs.push_back(m.seq);
  }
  return seqs;
}

std::vector<uint64_t> Queried(const Ledger& ledger, const QueryFilter& f) {
  std::vector<uint64_t> seqs;
  Check(ledger.Query(f, [&](const StoredRecord& r) {
    seqs.push_back(r.seq);
    return true;
  }), "Query");
  return seqs;
}

std::string Describe(const QueryFilter& f) {
  std::string s;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty()) s += std::string(" --") + name + " " + v;
  };
  add("deployment", f.deployment);
  add("app", f.app);
  add("environment", f.environment);
  add("actor", f.actor);
  add("role", f.role);
  add("kind", f.kind);
  add("step", f.step);
  add("image", f.image);
  add("decision", f.decision);
  if (f.waivers) s += " --waivers";
  if (f.from_seq) s += " --from-seq " + std::to_string(f.from_seq);
  if (f.to_seq) s += " --to-seq " + std::to_string(*f.to_seq);
  if (f.since) s += " --since " + shiplog::FormatTime(*f.since);
  if (f.until) s += " --until " + shiplog::FormatTime(*f.until);
  return s;
}

ModelLedger::Pick Seeded(unsigned seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(*rng); };
}

// ---- (1) Query equals a brute-force scan ----

RC_GTEST_PROP(QueryProperties, QueryEqualsABruteForceScan, ()) {
  ModelLedger l([](int n) { return *rc::gen::inRange(0, n); });
  l.AppendRandom(*rc::gen::inRange(5, 30));
  for (int i = 0; i < 40; ++i) {
    const QueryFilter f = l.RandomFilter();
    RC_ASSERT(Queried(l.ledger(), f) == BruteForce(l.model(), f));
  }
}

TEST(IndexedQueryTest, EveryFilterAloneOnASeededLedger) {
  ModelLedger l(Seeded(7));
  l.AppendRandom(80);
  int nonempty = 0;
  for (int i = 0; i < 300; ++i) {
    const QueryFilter f = l.RandomFilter();
    const auto expected = BruteForce(l.model(), f);
    nonempty += !expected.empty();
    EXPECT_EQ(Queried(l.ledger(), f), expected) << Describe(f);
  }
  EXPECT_GT(nonempty, 30) << "the filters should select something often";
}

TEST(IndexedQueryTest, AnUnknownDecisionIsRefused) {
  ModelLedger l(Seeded(1));
  QueryFilter f;
  f.decision = "maybe";
  EXPECT_CODE(l.ledger().Query(f, [](const StoredRecord&) { return true; }),
              StatusCode::kInvalidArgument);
}

// ---- (2) rebuilding the indexes ----

// The filters that a rebuild must serve: one per field, on values the seeded ledger has.
std::vector<QueryFilter> FiltersOfEveryField(ModelLedger& l) {
  std::vector<QueryFilter> filters;
  for (int i = 0; i < 200; ++i) filters.push_back(l.RandomFilter());
  return filters;
}

bool IsQueryKey(const std::string& key) {
  return key.size() > 10 && key[1] == '/' &&
         std::string("dakpersmo").find(key[0]) != std::string::npos;
}

TEST(QueryRebuildTest, DeletedIndexesAndVersionAreRebuiltOnOpen) {
  ModelLedger l(Seeded(11));
  l.AppendRandom(60);
  const auto filters = FiltersOfEveryField(l);
  l.Close();
  {
    RawDb raw(l.db());
    size_t deleted = 0;
    for (const std::string& key : raw.Keys("index")) {
      if (IsQueryKey(key) || key.rfind("i/", 0) == 0) {
        raw.Delete("index", key);
        ++deleted;
      }
    }
    ASSERT_GT(deleted, 400u);
    raw.Delete("meta", shiplog::kIndexVersionKey);
  }
  l.Reopen();
  EXPECT_TRUE(l.ledger().indexes_rebuilt());
  for (const QueryFilter& f : filters) {
    EXPECT_EQ(Queried(l.ledger(), f), BruteForce(l.model(), f)) << Describe(f);
  }
  auto report = l.ledger().Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  l.Reopen();
  EXPECT_FALSE(l.ledger().indexes_rebuilt()) << "the version was written with the rebuild";
}

TEST(QueryRebuildTest, AnOlderIndexVersionIsRebuilt) {
  ModelLedger l(Seeded(12));
  l.AppendRandom(30);
  EXPECT_FALSE(l.ledger().indexes_rebuilt());
  l.Close();
  {
    RawDb raw(l.db());
    EXPECT_EQ(raw.Get("meta", shiplog::kIndexVersionKey), std::to_string(shiplog::kIndexVersion));
    raw.Put("meta", shiplog::kIndexVersionKey, "1");
    // A version-1 ledger had no app index.
    for (const std::string& key : raw.Keys("index", "p/")) raw.Delete("index", key);
  }
  l.Reopen();
  EXPECT_TRUE(l.ledger().indexes_rebuilt());
  QueryFilter f;
  f.app = "checkout";
  EXPECT_EQ(Queried(l.ledger(), f), BruteForce(l.model(), f));
  EXPECT_FALSE(Queried(l.ledger(), f).empty());
}

// ---- (3) verify checks the indexes ----

class QueryVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    l_.AppendRandom(40);
    l_.Close();
  }
  shiplog::VerifyReport VerifyAfter(const std::function<void(RawDb&)>& tamper) {
    {
      RawDb raw(l_.db());
      tamper(raw);
    }
    l_.Reopen();
    auto report = l_.ledger().Verify();
    Check(report.status(), "Verify");
    return *report;
  }
  // The first entry under `space` ("p/", "a/", ...) and the record it points at.
  std::pair<std::string, uint64_t> FirstEntry(RawDb& raw, const std::string& space) {
    const auto keys = raw.Keys("index", space);
    if (keys.empty()) throw std::runtime_error("no " + space + " entries");
    return {keys.front(), shiplog::DecodeSeq(keys.front().substr(keys.front().size() - 8))};
  }

  ModelLedger l_{Seeded(21)};
};

TEST_F(QueryVerifyTest, AnUntouchedLedgerVerifies) {
  auto report = VerifyAfter([](RawDb&) {});
  EXPECT_TRUE(report.ok) << report.problem;
}

TEST_F(QueryVerifyTest, AMissingEntryIsNamed) {
  uint64_t seq = 0;
  auto report = VerifyAfter([&](RawDb& raw) {
    auto [key, at] = FirstEntry(raw, "p/");
    seq = at;
    raw.Delete("index", key);
  });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, seq);
  EXPECT_THAT(report.problem, HasSubstr("the app '"));
  EXPECT_THAT(report.problem, HasSubstr("is missing"));
}

TEST_F(QueryVerifyTest, AChangedEntryIsNamed) {
  uint64_t seq = 0;
  auto report = VerifyAfter([&](RawDb& raw) {
    auto [key, at] = FirstEntry(raw, "r/");
    seq = at;
    raw.Put("index", key, "x");
  });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, seq);
  EXPECT_THAT(report.problem, HasSubstr("role"));
  EXPECT_THAT(report.problem, HasSubstr("holds another value"));
}

TEST_F(QueryVerifyTest, AnEntryMovedToAnotherNameIsNamed) {
  uint64_t seq = 0;
  auto report = VerifyAfter([&](RawDb& raw) {
    auto [key, at] = FirstEntry(raw, "m/");
    seq = at;
    raw.Delete("index", key);
    raw.Put("index", "m/sha256:forged" + std::string(1, '\0') + EncodeSeq(at), "");
  });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, seq);
  EXPECT_THAT(report.problem, HasSubstr("the image '"));
}

TEST_F(QueryVerifyTest, AStrayEntryIsNamed) {
  auto report = VerifyAfter([&](RawDb& raw) {
    raw.Put("index", "a/mallory" + std::string(1, '\0') + EncodeSeq(5), "");
  });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 5u);
  EXPECT_THAT(report.problem, HasSubstr("the actor 'mallory' index entry of record 5"));
}

TEST_F(QueryVerifyTest, AStrayEntryBeyondTheRecordsIsNamed) {
  auto report = VerifyAfter([&](RawDb& raw) {
    raw.Put("index", "o/denied" + std::string(1, '\0') + EncodeSeq(9999), "");
  });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 9999u);
  EXPECT_THAT(report.problem, HasSubstr("points at a record that does not exist"));
}

// ---- the decision's outcome ----

// An intent is indexed under "allowed" (and "waived") from its stored decision's text, read
// without building the JSON value. The text is the gate's, or a tampered record's: what it says
// is read as the parsed value would say it, and anything else says nothing.
TEST(DecisionOutcomeIndex, IsReadFromTheDecisionAsItsValueSaysIt) {
  auto event = shiplog::Event::FromJson(StepStartedJson("rutger", "production"));
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  auto outcomes = [&](const std::string& decision) {
    const StoredRecord record{5, 0, false, shiplog::SignedEvent(), *event, decision, "", ""};
    std::set<std::string> found;
    const std::string prefix = shiplog::IndexPrefix(shiplog::IndexField::kOutcome, "");
    for (const auto& [key, value] : shiplog::IndexEntries(record, shiplog::IndexContext())) {
      if (key.rfind(prefix.substr(0, 2), 0) == 0) found.insert(key.substr(2, key.find('\0') - 2));
    }
    return found;
  };
  const std::set<std::string> none, allowed = {"allowed"}, waived = {"allowed", "waived"};
  const std::string waiver =
      R"({"events":[1],"name":"soak","rule":"R10","waiver":{"by":"rm","reason":"r","seq":3}})";
  const std::vector<std::tuple<std::string, std::string, std::set<std::string>>> cases = {
      {"an allow", R"({"allowed":true,"evidence":[],"policy_sha256":"ab","reasons":[]})", allowed},
      {"an allow with a waiver", R"({"allowed":true,"evidence":[)" + waiver + "]}", waived},
      {"the waiver second", R"({"allowed":true,"evidence":[{"events":[]},)" + waiver + "]}",
       waived},
      {"keys in another order", R"({"evidence":[)" + waiver + R"(],"allowed":true})", waived},
      {"a denial", R"({"allowed":false,"evidence":[)" + waiver + "]}", none},
      {"allowed not a boolean", R"({"allowed":"true"})", none},
      {"allowed an object", R"({"allowed":{"x":true}})", none},
      {"allowed missing", R"({"evidence":[]})", none},
      {"a waiver outside the evidence", R"({"allowed":true,"reasons":[)" + waiver + "]}", allowed},
      {"a waiver nested in an item", R"({"allowed":true,"evidence":[{"x":{"waiver":1}}]})",
       allowed},
      {"an item that is a list", R"({"allowed":true,"evidence":[[{"waiver":1}]]})", allowed},
      {"evidence an object", R"({"allowed":true,"evidence":{"waiver":1}})", allowed},
      {"allowed given twice", R"({"allowed":true,"allowed":false})", none},
      {"allowed given twice, true last", R"({"allowed":false,"allowed":true})", allowed},
      {"evidence given twice", R"({"allowed":true,"evidence":[)" + waiver + R"(],"evidence":[]})",
       allowed},
      {"evidence given twice, then a scalar", R"({"allowed":true,"evidence":[)" + waiver +
       R"(],"evidence":1})", allowed},
      {"cut short", R"({"allowed":true,"evidence":[)" + waiver, none},
      {"text after it", R"({"allowed":true} {})", none},
      {"a list", R"([{"allowed":true}])", none},
      {"not JSON", "allowed", none},
      {"nested too deep", R"({"allowed":true,"x":)" + std::string(100, '[') +
       std::string(100, ']') + "}", none},
  };
  for (const auto& [what, decision, expected] : cases) {
    EXPECT_EQ(outcomes(decision), expected) << what << ": " << decision;
  }
}

// ---- (4) a scan reads ahead on a thread of its own, in chunks of records ----

std::vector<uint64_t> ScannedSeqs(const Ledger& ledger, uint64_t from) {
  std::vector<uint64_t> seqs;
  Check(ledger.Scan(from, [&](const StoredRecord& r) {
    seqs.push_back(r.seq);
    return true;
  }), "Scan");
  return seqs;
}

// Chunks of 64 records, 8 of them read ahead: the ledgers below are longer than that.
TEST(ScanTest, VisitsEveryRecordInOrderFromAnyStartAndStopsWhereTold) {
  ModelLedger l(Seeded(31));
  l.AppendRandom(700);
  const uint64_t size = l.ledger().size();
  ASSERT_GT(size, 700u);
  for (uint64_t from : {uint64_t{0}, uint64_t{63}, uint64_t{64}, uint64_t{65}, size - 1, size}) {
    std::vector<uint64_t> expected;
    for (uint64_t seq = from; seq < size; ++seq) expected.push_back(seq);
    EXPECT_EQ(ScannedSeqs(l.ledger(), from), expected) << "from " << from;
  }
  for (uint64_t stop : {uint64_t{0}, uint64_t{63}, uint64_t{64}, uint64_t{513}, size - 1}) {
    std::vector<uint64_t> seen;
    ASSERT_OK(l.ledger().Scan(0, [&](const StoredRecord& r) {
      seen.push_back(r.seq);
      return r.seq < stop;
    }));
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), stop);
    EXPECT_EQ(seen.size(), stop + 1);
  }
}

// An end bound: records [from, end), the short ones read on the caller's thread.
TEST(ScanTest, VisitsTheRecordsBeforeItsEnd) {
  ModelLedger l(Seeded(34));
  l.AppendRandom(100);
  for (auto [from, end] : {std::pair<uint64_t, uint64_t>{0, 1}, {5, 37}, {5, 38}, {10, 90},
                           {0, l.ledger().size()}, {40, 40}, {50, 20}}) {
    std::vector<uint64_t> expected, seen;
    for (uint64_t seq = from; seq < end; ++seq) expected.push_back(seq);
    ASSERT_OK(l.ledger().Scan(from, [&](const StoredRecord& r) {
      seen.push_back(r.seq);
      return true;
    }, end));
    EXPECT_EQ(seen, expected) << from << " to " << end;
  }
}

// A visitor slower than the reader, so that the reader fills its queue and decodes chunks too:
// its first visit scans the whole ledger again (whose end is the outer scan's to report).
std::vector<uint64_t> SlowlyScannedSeqs(const Ledger& ledger, shiplog::Status* status) {
  std::vector<uint64_t> seqs;
  *status = ledger.Scan(0, [&](const StoredRecord& r) {
    if (seqs.empty()) (void)ledger.Scan(0, [](const StoredRecord&) { return true; });
    seqs.push_back(r.seq);
    return true;
  });
  return seqs;
}

// Either thread may decode a chunk; the visitor still sees every record once, in order.
TEST(ScanTest, RecordsComeInOrderWhicheverThreadDecodedThem) {
  ModelLedger l(Seeded(35));
  l.AppendRandom(1200);
  shiplog::Status status;
  const std::vector<uint64_t> seen = SlowlyScannedSeqs(l.ledger(), &status);
  ASSERT_OK(status);
  std::vector<uint64_t> expected;
  for (uint64_t seq = 0; seq < l.ledger().size(); ++seq) expected.push_back(seq);
  EXPECT_EQ(seen, expected);
}

// The records before one that does not decode are visited, then the scan ends with its error:
// a record early in the scan (the visitor decodes it) and one far ahead of a slow visitor (the
// reader most likely does).
TEST(ScanTest, ARecordThatDoesNotDecodeEndsTheScanAfterThoseBeforeIt) {
  ModelLedger l(Seeded(32));
  l.AppendRandom(1100);
  l.Close();
  for (const uint64_t bad : {uint64_t{77}, uint64_t{1000}}) {
    SCOPED_TRACE(bad);
    std::string good;
    {
      RawDb raw(l.db());
      good = raw.Record(bad);
      std::string value = good;
      value[value.size() / 2] ^= 0x20;
      raw.PutRecord(bad, value);
    }
    {
      shiplog::FakeClock clock(kT0);
      auto ledger = Ledger::Open(l.dir(), &clock);  // no gate: opening folds no record
      ASSERT_OK(ledger);
      shiplog::Status status;
      const std::vector<uint64_t> seen = SlowlyScannedSeqs(**ledger, &status);
      EXPECT_EQ(status.code(), shiplog::StatusCode::kCorrupt) << status.ToString();
      EXPECT_THAT(status.message(), HasSubstr("record " + std::to_string(bad)));
      ASSERT_EQ(seen.size(), bad);
      EXPECT_EQ(seen.back(), bad - 1);
    }
    RawDb(l.db()).PutRecord(bad, good);
  }
}

// A visitor's exception reaches the caller with the reading thread stopped and joined; the
// ledger scans again after it.
TEST(ScanTest, AVisitorsExceptionReachesTheCaller) {
  ModelLedger l(Seeded(33));
  l.AppendRandom(100);
  EXPECT_THROW(l.ledger().Scan(0,
                               [](const StoredRecord& r) -> bool {
                                 if (r.seq == 40) throw std::runtime_error("stop here");
                                 return true;
                               }),
               std::runtime_error);
  EXPECT_EQ(ScannedSeqs(l.ledger(), 0).size(), l.ledger().size());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
