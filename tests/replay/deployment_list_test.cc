// Tests of replay/deployment_list.h on a real ledger (RocksDB, enrolled keys, the default pack
// judging every intent): thirty deployments, each of its own app, a third of them refused outright
// and the rest in progress with a few records after their request. A page reads back through
// windows of records that start at sixteen per row asked for and double, so small limits make a
// page cross many windows; what each page must hold is worked out from the order the test wrote.
#include "replay/deployment_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "replay_test_util.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::replay_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay::DeploymentList;
using replay::DeploymentListFilter;
using replay::ListDeployments;

constexpr int kDeployments = 30;
const std::string kImage =
    "registry.example/shop@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

std::string IdOf(int i) { return "d-" + std::to_string(i); }
bool RefusedOutright(int i) { return i % 3 == 2; }

class DeploymentListTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lut_ = new LedgerUnderTest(DefaultPolicy(), kStart, testing::ChainAgents());
    for (int i = 0; i < kDeployments; ++i) {
      json request = testing::ChainRequest("app-" + std::to_string(i), kImage);
      request["actor"] = "leon";
      request["deployment"] = IdOf(i);
      if (RefusedOutright(i)) {
        request["image"] = "registry.example/shop:latest";  // a tag, not a digest
        ASSERT_TRUE(LedgerUnderTest::Must(lut_->Append(request)).denied);
        continue;
      }
      ASSERT_FALSE(LedgerUnderTest::Must(lut_->Append(request)).denied);
      for (const json& more :
           {json{{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"},
                 {"actor", "marta"}},
            json{{"kind", "step.started"}, {"step", "orchestrate"}, {"actor", "leon"}},
            json{{"kind", "step.reported"}, {"step", "orchestrate"}, {"status", "READY"},
                 {"actor", "leon"}}}) {
        json event = more;
        event["deployment"] = IdOf(i);
        ASSERT_FALSE(LedgerUnderTest::Must(lut_->Append(event)).denied) << event.dump();
      }
    }
  }
  static void TearDownTestSuite() { delete lut_; }

  static DeploymentList List(const DeploymentListFilter& filter) {
    return LedgerUnderTest::Must(ListDeployments(lut_->ledger(), filter));
  }

  // Every page of `filter`, following next_before; the ids in the order listed.
  static std::vector<std::string> AllPages(DeploymentListFilter filter, size_t* pages) {
    std::vector<std::string> ids;
    *pages = 0;
    for (;;) {
      const DeploymentList page = List(filter);
      ++*pages;
      EXPECT_LE(page.deployments.size(), filter.limit);
      for (const auto& d : page.deployments) ids.push_back(d.deployment);
      if (!page.next_before_seq) return ids;
      EXPECT_EQ(page.deployments.size(), filter.limit) << "a page with a next one is full";
      filter.before_seq = page.next_before_seq;
      if (*pages > kDeployments + 1) {
        ADD_FAILURE() << "the pages do not end";
        return ids;
      }
    }
  }

  static LedgerUnderTest* lut_;
};
LedgerUnderTest* DeploymentListTest::lut_ = nullptr;

std::vector<std::string> NewestFirst(bool (*keep)(int)) {
  std::vector<std::string> ids;
  for (int i = kDeployments - 1; i >= 0; --i) {
    if (keep(i)) ids.push_back(IdOf(i));
  }
  return ids;
}

TEST_F(DeploymentListTest, OnePageHoldsEveryDeploymentNewestFirst) {
  DeploymentListFilter all;
  all.limit = 100;
  const DeploymentList list = List(all);
  std::vector<std::string> ids;
  for (const auto& d : list.deployments) ids.push_back(d.deployment);
  EXPECT_EQ(ids, NewestFirst([](int) { return true; }));
  EXPECT_FALSE(list.next_before_seq);
  for (const auto& d : list.deployments) {
    const int i = std::stoi(d.deployment.substr(2));
    EXPECT_EQ(d.app, "app-" + std::to_string(i));
    EXPECT_EQ(d.status, RefusedOutright(i) ? "denied" : "in progress") << d.deployment;
    EXPECT_EQ(d.denials, RefusedOutright(i) ? 1u : 0u) << d.deployment;
    EXPECT_EQ(d.last_seq, d.requested_seq + (RefusedOutright(i) ? 0 : 3)) << d.deployment;
  }
}

TEST_F(DeploymentListTest, PagesOfEachSizeListEveryDeploymentOnceNewestFirst) {
  for (size_t limit : {1, 2, 7, 29, 30}) {
    DeploymentListFilter filter;
    filter.limit = limit;
    size_t pages = 0;
    EXPECT_EQ(AllPages(filter, &pages), NewestFirst([](int) { return true; })) << limit;
    EXPECT_EQ(pages, (kDeployments + limit - 1) / limit) << limit;
  }
}

TEST_F(DeploymentListTest, AStatusFilterPagesThroughTheMatchesOnly) {
  DeploymentListFilter denied;
  denied.status = "denied";
  denied.limit = 3;
  size_t pages = 0;
  EXPECT_EQ(AllPages(denied, &pages), NewestFirst(RefusedOutright));
  DeploymentListFilter in_progress;
  in_progress.status = "in progress";
  in_progress.limit = 4;
  EXPECT_EQ(AllPages(in_progress, &pages),
            NewestFirst([](int i) { return !RefusedOutright(i); }));
}

// One row asked for: the page reads back window after doubling window to the oldest deployment.
TEST_F(DeploymentListTest, TheOldestDeploymentIsFoundFromTheEnd) {
  DeploymentListFilter filter;
  filter.app = "app-0";
  filter.limit = 1;
  const DeploymentList list = List(filter);
  ASSERT_EQ(list.deployments.size(), 1u);
  EXPECT_EQ(list.deployments[0].deployment, "d-0");
  EXPECT_FALSE(list.next_before_seq) << "nothing was requested or refused before it";
}

// A page that fills on the oldest request of its window (d-25's is, in the first window of one
// row) looks further back for a next one: here the denials of other apps, which the next page then
// reads and lists none of.
TEST_F(DeploymentListTest, AFullPageSaysWhetherAnythingIsLeftBeforeIt) {
  DeploymentListFilter filter;
  filter.app = "app-25";
  filter.limit = 1;
  const DeploymentList first = List(filter);
  ASSERT_EQ(first.deployments.size(), 1u);
  EXPECT_EQ(first.deployments[0].deployment, "d-25");
  ASSERT_TRUE(first.next_before_seq);
  filter.before_seq = first.next_before_seq;
  const DeploymentList rest = List(filter);
  EXPECT_TRUE(rest.deployments.empty());
  EXPECT_FALSE(rest.next_before_seq);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay_test
