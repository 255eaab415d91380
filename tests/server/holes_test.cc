// Issue 23's smaller holes through the real server: a repeat of a stored event is acknowledged
// only to a signer that could have sent it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

json Request() {
  return {{"id", "request-1"}, {"kind", "deploy.requested"}, {"deployment", "checkout-1"},
          {"app", "checkout"}, {"environment", "production"}, {"version", "1.4.2"},
          {"image",
           "registry.example/checkout@sha256:"
           "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"},
          {"strategy", "rolling"}, {"risk", "low"},
          {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
}

class ServerHoles : public ::testing::Test {
 protected:
  ServerHoles() : server_({{"leon", {"coordinator"}}, {"rutger", {"production-ops"}}}) {}
  void SetUp() override { server_.Start(); }

  // leon's stored request, signed again by the key in `key_file` (the same payload: same actor,
  // id and fields).
  json ResignedBy(const std::string& key_file) {
    json event = Request();
    event["actor"] = "leon";
    ProcessResult r = server_.Shiplog({"sign", "--key", key_file, "-"}, event.dump());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  ServerProcess server_;
};

TEST_F(ServerHoles, RepeatResignedByAKeyThatIsNotEnrolledIs401) {
  const json original = server_.Sign("leon", Request());
  ASSERT_EQ(server_.Post("/v1/events", original.dump()).status, 200);
  const std::string mallory = server_.data() + "/../mallory.key";
  ASSERT_EQ(server_.Shiplog({"keygen", "--out", mallory}).exit_code, 0);
  const json resigned = ResignedBy(mallory);
  ASSERT_EQ(resigned["payload"], original["payload"]) << "the same signed bytes, another key";

  adapters::HttpReply reply = server_.Post("/v1/events", resigned.dump());
  EXPECT_EQ(reply.status, 401) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("is not enrolled"));
  EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("\"duplicate\"")));
  // The holder of leon's key still gets its first receipt back.
  adapters::HttpReply repeat = server_.Post("/v1/events", original.dump());
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(json::parse(repeat.body)["duplicate"], true);
}

TEST_F(ServerHoles, RepeatResignedByAnotherAgentIs403) {
  const json original = server_.Sign("leon", Request());
  ASSERT_EQ(server_.Post("/v1/events", original.dump()).status, 200);
  adapters::HttpReply reply = server_.Post("/v1/events", ResignedBy(server_.key("rutger")).dump());
  EXPECT_EQ(reply.status, 403) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("enrolled for 'rutger'"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
