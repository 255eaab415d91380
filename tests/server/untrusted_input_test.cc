// The real server against untrusted input that used to kill it (issue 23): JSON nested far deeper
// than any event (a recursion that overflowed the stack), and a signed maintenance window whose
// time is outside what the JSON form can write (an unchecked Result inside the sequencer). Each
// case answers 400 naming what is wrong, and the server keeps serving and appending.
#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "ledger/canonical.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "tests/cli/far_future_window.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

// {"kind":"review","a":[[[...]]]} with `depth` nested arrays: 120 KB at 60,000, within the
// server's body limit and needing no signature to be parsed.
std::string DeepReview(size_t depth) {
  return R"({"kind":"review","a":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

// The server still answers and still appends after the hostile request.
void ExpectServesOn(const ServerProcess& server, const std::string& agent) {
  EXPECT_EQ(server.Get("/healthz").status, 200);
  const json envelope = server.Sign(agent, {{"id", "after-" + agent},
                                            {"kind", "incident.opened"},
                                            {"environment", "staging"},
                                            {"incident", "INC-1"}});
  EXPECT_EQ(server.Post("/v1/events", envelope.dump()).status, 200);
}

class ServerUntrustedInput : public ::testing::Test {
 protected:
  ServerUntrustedInput()
      : server_(std::map<std::string, std::vector<std::string>>{{"ic", {"incident-commander"}}}) {
    server_.Start();
  }
  ServerProcess server_;
};

TEST_F(ServerUntrustedInput, DeeplyNestedCheckBodyIs400NamingTheDepth) {
  const auto reply = server_.Post("/v1/check", DeepReview(60'000));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("nested deeper than 64"));
  ExpectServesOn(server_, "ic");
}

TEST_F(ServerUntrustedInput, DeeplyNestedSubmissionIs400NamingTheDepth) {
  const auto reply = server_.Post("/v1/events", DeepReview(60'000));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("nested deeper than 64"));
  ExpectServesOn(server_, "ic");
}

TEST_F(ServerUntrustedInput, NestingJustOverTheLimitIsRefusedAndAtItIsJudgedAsAnEvent) {
  // 64 levels in all (the event object and 63 arrays) pass the limit and reach the schema.
  const auto at_limit = server_.Post("/v1/check", DeepReview(63));
  EXPECT_EQ(at_limit.status, 400);
  EXPECT_THAT(at_limit.body, ::testing::Not(HasSubstr("nested deeper")));
  const auto over = server_.Post("/v1/check", DeepReview(64));
  EXPECT_EQ(over.status, 400);
  EXPECT_THAT(over.body, HasSubstr("nested deeper than 64"));
}

TEST_F(ServerUntrustedInput, MaintenanceWindowWithAFiveDigitYearIs400NamingTheField) {
  const auto reply = server_.Post("/v1/events", FarFutureWindowEnvelope(server_.key("ic")));
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("field 'to'"));
  EXPECT_THAT(reply.body, HasSubstr("9999-12-31T23:59:59.999999Z"));
  ExpectServesOn(server_, "ic");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
