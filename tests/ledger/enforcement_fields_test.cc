// What the enforcement points (adapters/: Kubernetes admission, GitHub, Argo) need of the ledger:
// a deploy.requested names the commit it deploys and is found by it, an enforcement.decided may
// or may not belong to a deployment, and a record is found by its actor and event id.
#include <gtest/gtest.h>

#include <vector>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::Event;
using shiplog::QueryFilter;
using shiplog::SigningKey;
using shiplog::StoredRecord;
using ::testing::HasSubstr;

const std::string kCommit = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

json WithSource(json request, const std::string& repository, const std::string& commit) {
  request["source"] = {{"repository", repository}, {"commit", commit}};
  return request;
}

json Decided(const std::string& deployment) {
  json decided;
  for (const json& j : AllKindExamples()) {
    if (j.at("kind") == "enforcement.decided") decided = j;
  }
  decided["id"] = NextId();
  if (deployment.empty()) {
    decided.erase("deployment");
  } else {
    decided["deployment"] = deployment;
  }
  return decided;
}

std::vector<uint64_t> Seqs(const shiplog::Ledger& ledger, const QueryFilter& filter) {
  std::vector<uint64_t> seqs;
  Check(ledger.Query(filter, [&](const StoredRecord& r) {
    seqs.push_back(r.seq);
    return true;
  }));
  return seqs;
}

TEST(EnforcementFieldsTest, ARequestNamesItsSourceAndSaysWhatIsMissing) {
  const Event e =
      MakeEvent(WithSource(DeployRequestedJson("leon"), "Codertocat/Hello-World", kCommit));
  EXPECT_EQ(e.ToJson()["source"]["commit"], kCommit);
  json no_commit = DeployRequestedJson("leon");
  no_commit["source"] = {{"repository", "Codertocat/Hello-World"}};
  auto refused = Event::FromJson(no_commit);
  ASSERT_CODE(refused, StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("commit"));
}

TEST(EnforcementFieldsTest, AnEnforcementDecisionMayNameADeploymentOrNone) {
  EXPECT_OK(Event::FromJson(Decided("")));
  EXPECT_OK(Event::FromJson(Decided(kDeployment)));
  auto bad = Event::FromJson(Decided("two words"));
  ASSERT_CODE(bad, StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("deployment"));
  // Kinds that are not about a deployment still refuse one.
  json incident = EventJson("incident.opened", "otto", kDeployment,
                            {{"environment", "production"}, {"incident", "INC-1"}});
  EXPECT_CODE(Event::FromJson(incident), StatusCode::kInvalidArgument);
}

TEST(EnforcementFieldsTest, QueryBySourceFindsTheRequestOfThatCommitOnly) {
  TestLedger t;
  t.Create();
  SigningKey leon = SigningKey::Generate();
  t.Enroll("leon", leon);
  const uint64_t first =
      t.Append(WithSource(DeployRequestedJson("leon", "d1"), "Codertocat/Hello-World", kCommit),
               leon)
          .seq;
  t.Append(
      WithSource(DeployRequestedJson("leon", "d2"), "Codertocat/Hello-World", std::string(40, 'a')),
      leon);
  t.Append(WithSource(DeployRequestedJson("leon", "d3"), "Codertocat/Other", kCommit), leon);
  t.Append(StepStartedJson("leon", "build", "d1"), leon);
  QueryFilter filter;
  filter.source = "Codertocat/Hello-World@" + kCommit;
  EXPECT_EQ(Seqs(*t.ledger, filter), std::vector<uint64_t>{first});
  QueryFilter other_case;
  other_case.source = "codertocat/hello-world@" + kCommit;
  EXPECT_EQ(Seqs(*t.ledger, other_case), std::vector<uint64_t>{first}) << "GitHub ignores case";

  // The index survives a rebuild, and Verify agrees with it.
  t.Close();
  Check(t.Open(), "reopen");
  EXPECT_EQ(Seqs(*t.ledger, filter), std::vector<uint64_t>{first});
  auto report = t.ledger->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST(EnforcementFieldsTest, FindEventFindsARecordByActorAndId) {
  TestLedger t;
  t.Create();
  SigningKey server = SigningKey::Generate();
  t.Enroll("shiplog-server", server);
  json decided = Decided("");
  decided["actor"] = "shiplog-server";
  decided["id"] = "github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958";
  const uint64_t seq = t.Append(decided, server).seq;
  auto found = t.ledger->FindEvent("shiplog-server", decided["id"].get<std::string>());
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->seq, seq);
  auto other_actor = t.ledger->FindEvent("admin", decided["id"].get<std::string>());
  ASSERT_OK(other_actor);
  EXPECT_FALSE(other_actor->has_value());
  auto other_id = t.ledger->FindEvent("shiplog-server", "github-delivery:other");
  ASSERT_OK(other_id);
  EXPECT_FALSE(other_id->has_value());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
