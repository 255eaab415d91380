// Kubernetes admission through the real server on loopback: AdmissionReviews as a
// ValidatingAdmissionWebhook sends them (admission.k8s.io/v1), for every workload kind that holds
// a pod template, judged against what the ledger allowed; denials recorded, dry runs not, bad
// reviews refused with nothing recorded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/server/deploy_chain.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/"
    "checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kOtherImage =
    "registry.example/"
    "checkout@sha256:0000000000000000000000000000000000000000000000000000000000000001";
const std::string kSidecar =
    "registry.example/"
    "proxy@sha256:1111111111111111111111111111111111111111111111111111111111111111";

// A pod spec running `image` (and, when given, an init container running `init`).
json PodSpec(const std::string& image, const std::string& init = "") {
  json spec = {{"containers", {{{"name", "app"}, {"image", image}}}}};
  if (!init.empty()) spec["initContainers"] = {{{"name", "migrate"}, {"image", init}}};
  return spec;
}

// A `kind` object in namespace `ns` whose pods run `spec`, shaped as the API server sends it.
json Workload(const std::string& kind, const std::string& ns, const json& spec) {
  json object = {{"kind", kind}, {"metadata", {{"name", "checkout"}, {"namespace", ns}}}};
  object["apiVersion"] = kind == "Pod"                        ? "v1"
                         : kind == "Rollout"                  ? "argoproj.io/v1alpha1"
                         : kind == "Job" || kind == "CronJob" ? "batch/v1"
                                                              : "apps/v1";
  const json pod_template = {{"metadata", {{"labels", {{"app", "checkout"}}}}}, {"spec", spec}};
  if (kind == "Pod") {
    object["spec"] = spec;
  } else if (kind == "CronJob") {
    object["spec"] = {{"schedule", "*/5 * * * *"},
                      {"jobTemplate", {{"spec", {{"template", pod_template}}}}}};
  } else {
    object["spec"] = {{"replicas", 2}, {"template", pod_template}};
  }
  return object;
}

json Review(const std::string& uid, const json& object, bool dry_run = false,
            const std::string& operation = "CREATE") {
  const std::string kind = object.value("kind", "");
  const std::string api = object.value("apiVersion", "v1");
  const size_t slash = api.find('/');
  json request = {
      {"uid", uid},
      {"kind",
       {{"group", slash == std::string::npos ? "" : api.substr(0, slash)},
        {"version", slash == std::string::npos ? api : api.substr(slash + 1)},
        {"kind", kind}}},
      {"namespace", object["metadata"].value("namespace", "")},
      {"name", object["metadata"].value("name", "")},
      {"operation", operation},
      {"userInfo", {{"username", "system:serviceaccount:argocd:argocd-application-controller"}}},
      {"object", object},
      {"dryRun", dry_run}};
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

const std::vector<std::string> kWorkloadKinds = {
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"};

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest()
      : server_({{"leon", {"coordinator"}},
                 {"marta", {"merge-approver"}},
                 {"ci-bot", {"ci"}},
                 {"thijmen", {"k8s-operator"}},
                 {"rutger", {"production-ops"}},
                 {"otto", {"backup"}},
                 {"rm", {"release-manager"}},
                 {"gatekeeper", {"enforcer"}}}) {}
  void SetUp() override { server_.Start({"--integration-key", server_.key("gatekeeper")}); }

  void Submit(const std::string& agent, json event, int expected = 200) {
    adapters::HttpReply reply =
        server_.Post("/v1/events", server_.Sign(agent, std::move(event)).dump());
    ASSERT_EQ(reply.status, expected) << reply.body;
  }
  json As(json event, const std::string& deployment) {
    event["deployment"] = deployment;
    return event;
  }

  // Deployment `d` of `image` through to an allowed start of staging (the digest scanned).
  void ThroughStaging(const std::string& d, const std::string& image, const std::string& app) {
    WalkToStagingStart([&](const std::string& agent, json event) { Submit(agent, As(event, d)); },
                       ChainRequest(app, image));
  }
  // ... and on to an allowed start of production (R10's soak waived, a backup verified).
  void ThroughProduction(const std::string& d) {
    Submit("thijmen", As({{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}}, d));
    Submit("otto", As({{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-" + d}}, d));
    Submit("rm", As({{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "test: no soak"}}, d));
    Submit("rutger", As({{"kind", "step.started"}, {"step", "production"}}, d));
  }

  // The review's answer (HTTP 200), checked for its shape.
  json Admit(const json& review, const std::string& query = "") {
    adapters::HttpReply reply = server_.Post("/v1/admission" + query, review.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    json answer = json::parse(reply.body);
    EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(answer["kind"], "AdmissionReview");
    EXPECT_EQ(answer["response"]["uid"], review["request"]["uid"]);
    return answer["response"];
  }
  uint64_t Records() { return json::parse(server_.Get("/readyz").body)["records"].get<uint64_t>(); }
  json Decisions() {
    json out = json::array();
    std::string lines = server_.Get("/v1/query?kind=enforcement.decided").body;
    for (size_t at = 0, end; at < lines.size(); at = end + 1) {
      end = lines.find('\n', at);
      if (end == std::string::npos) end = lines.size();
      if (end > at) out.push_back(json::parse(lines.substr(at, end - at)));
    }
    return out;
  }

  ServerProcess server_;
};

TEST_F(AdmissionTest, EveryWorkloadKindIsAdmittedWithAStartedDigestAndDeniedWithout) {
  ThroughStaging("checkout-1", kImage, "checkout");
  int n = 0;
  for (const std::string& kind : kWorkloadKinds) {
    SCOPED_TRACE(kind);
    json allowed =
        Admit(Review("ok-" + std::to_string(++n), Workload(kind, "staging", PodSpec(kImage))));
    EXPECT_EQ(allowed["allowed"], true) << allowed.dump();
    EXPECT_THAT(allowed["status"]["message"].get<std::string>(), HasSubstr("checkout-1"));

    json tag = Admit(Review("tag-" + std::to_string(n),
                            Workload(kind, "staging", PodSpec("registry.example/checkout:1.4.2"))));
    EXPECT_EQ(tag["allowed"], false);
    EXPECT_EQ(tag["status"]["code"], 403);
    EXPECT_THAT(tag["status"]["message"].get<std::string>(),
                HasSubstr("[R9] containers[app]: image registry.example/checkout:1.4.2 is not "
                          "pinned by digest"));

    json unknown = Admit(
        Review("unknown-" + std::to_string(n), Workload(kind, "staging", PodSpec(kOtherImage))));
    EXPECT_EQ(unknown["allowed"], false);
    EXPECT_THAT(unknown["status"]["message"].get<std::string>(),
                HasSubstr("[admission] containers[app]: the ledger holds no allowed start of step "
                          "'staging' with digest sha256:0000"));
    EXPECT_THAT(unknown["status"]["message"].get<std::string>(),
                HasSubstr(kind + " staging/checkout"));
  }
}

TEST_F(AdmissionTest, ADigestAllowedOnlyInStagingIsRefusedInProductionUntilProductionStarts) {
  ThroughStaging("checkout-1", kImage, "checkout");
  json refused = Admit(Review("u1", Workload("Deployment", "production", PodSpec(kImage))));
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_THAT(refused["status"]["message"].get<std::string>(),
              HasSubstr("no allowed start of step 'production'"));
  EXPECT_THAT(refused["status"]["message"].get<std::string>(),
              HasSubstr("it was allowed only for step 'staging' (deployment checkout-1)"));

  ThroughProduction("checkout-1");
  json admitted = Admit(Review("u2", Workload("Deployment", "production", PodSpec(kImage))));
  EXPECT_EQ(admitted["allowed"], true) << admitted.dump();
  EXPECT_THAT(admitted["status"]["message"].get<std::string>(),
              HasSubstr("allowed Deployment production/checkout in environment production "
                        "(deployment checkout-1)"));
}

TEST_F(AdmissionTest, ARolledBackDeploymentsDigestIsRefused) {
  ThroughStaging("checkout-1", kImage, "checkout");
  ASSERT_EQ(Admit(Review("before", Workload("Deployment", "staging", PodSpec(kImage))))["allowed"],
            true);
  Submit("leon", As({{"kind", "rollback.started"}, {"reason", "error rate up"}}, "checkout-1"));
  json refused = Admit(Review("after", Workload("Deployment", "staging", PodSpec(kImage))));
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_THAT(refused["status"]["message"].get<std::string>(),
              HasSubstr("[admission-rolled-back] containers[app]: image " + kImage +
                        " was started for step 'staging' only by deployment checkout-1, which has "
                        "been rolled back"));
  // Recorded, naming the deployment.
  json decisions = Decisions();
  ASSERT_EQ(decisions.size(), 1u) << decisions.dump();
  EXPECT_EQ(decisions[0]["event"]["deployment"], "checkout-1");
  EXPECT_EQ(decisions[0]["event"]["request"], "after");
}

TEST_F(AdmissionTest, EveryContainerListIsJudged) {
  ThroughStaging("checkout-1", kImage, "checkout");
  json init = Admit(Review("init", Workload("Deployment", "staging",
                                            PodSpec(kImage, "registry.example/migrate:latest"))));
  EXPECT_EQ(init["allowed"], false);
  EXPECT_THAT(init["status"]["message"].get<std::string>(),
              HasSubstr("initContainers[migrate]: image registry.example/migrate:latest"));
  EXPECT_THAT(init["status"]["message"].get<std::string>(), Not(HasSubstr("containers[app]")));

  // kubectl debug adds an ephemeral container to a running Pod (UPDATE of
  // pods/ephemeralcontainers).
  json pod = Workload("Pod", "staging", PodSpec(kImage));
  pod["spec"]["ephemeralContainers"] = {{{"name", "debugger"}, {"image", "busybox"}}};
  json debug = Admit(Review("debug", pod, false, "UPDATE"));
  EXPECT_EQ(debug["allowed"], false);
  EXPECT_THAT(debug["status"]["message"].get<std::string>(),
              HasSubstr("ephemeralContainers[debugger]: image busybox is not pinned"));

  // A sidecar of its own deployment, started for staging too: both digests are known.
  ThroughStaging("proxy-1", kSidecar, "proxy");
  json spec = PodSpec(kImage);
  spec["containers"].push_back({{"name", "proxy"}, {"image", kSidecar}});
  json both = Admit(Review("both", Workload("StatefulSet", "staging", spec)));
  EXPECT_EQ(both["allowed"], true) << both.dump();
  EXPECT_THAT(both["status"]["message"].get<std::string>(), HasSubstr("checkout-1, proxy-1"));
}

TEST_F(AdmissionTest, DenialsAreRecordedAndDryRunsAreNot) {
  const uint64_t before = Records();
  json dry =
      Admit(Review("dry", Workload("Pod", "production", PodSpec(kOtherImage)), /*dry_run=*/true));
  EXPECT_EQ(dry["allowed"], false);
  EXPECT_EQ(Records(), before) << "a dry run decides but records nothing";

  json real = Admit(Review("real", Workload("Pod", "production", PodSpec(kOtherImage))));
  EXPECT_EQ(real["allowed"], false);
  EXPECT_EQ(Records(), before + 1);
  json decisions = Decisions();
  ASSERT_EQ(decisions.size(), 1u);
  const json& event = decisions[0]["event"];
  EXPECT_EQ(event["actor"], "gatekeeper");
  EXPECT_EQ(event["point"], "kubernetes-admission");
  EXPECT_EQ(event["request"], "real");
  EXPECT_EQ(event["subject"], "Pod production/checkout");
  EXPECT_EQ(event["environment"], "production");
  EXPECT_EQ(event["step"], "production");
  EXPECT_EQ(event["images"], json::array({kOtherImage}));
  EXPECT_FALSE(event.contains("deployment")) << "no deployment holds this digest";
  json decision = json::parse(event["decision"].get<std::string>());
  EXPECT_EQ(decision["allowed"], false);
  EXPECT_EQ(decision["reasons"][0]["rule"], "admission");

  // The API server retries a timed-out call with the same uid: stored once.
  Admit(Review("real", Workload("Pod", "production", PodSpec(kOtherImage))));
  EXPECT_EQ(Records(), before + 1);

  // Allowed reviews are not recorded; neither are namespaces no environment guards.
  json unguarded = Admit(Review("kube", Workload("Pod", "kube-system", PodSpec("busybox"))));
  EXPECT_EQ(unguarded["allowed"], true);
  EXPECT_THAT(unguarded["status"]["message"].get<std::string>(), HasSubstr("not guarded"));
  EXPECT_EQ(Records(), before + 1);
}

TEST_F(AdmissionTest, ANamespaceLabelSelectorNamesTheEnvironment) {
  ThroughStaging("checkout-1", kImage, "checkout");
  // A namespace "team-a-prod" labelled shiplog.dev/environment=production reaches the webhook
  // whose namespaceSelector matches that label, at /v1/admission/production.
  json refused =
      Admit(Review("label", Workload("Deployment", "team-a-prod", PodSpec(kImage))), "/production");
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_THAT(refused["status"]["message"].get<std::string>(), HasSubstr("environment production"));
  json staging =
      Admit(Review("label2", Workload("Deployment", "team-a-stage", PodSpec(kImage))), "/staging");
  EXPECT_EQ(staging["allowed"], true);
}

TEST_F(AdmissionTest, DeletesAreNotJudged) {
  json review =
      Review("del", Workload("Deployment", "production", PodSpec(kOtherImage)), false, "DELETE");
  review["request"]["oldObject"] = review["request"]["object"];
  review["request"].erase("object");
  EXPECT_EQ(Admit(review)["allowed"], true);
}

TEST_F(AdmissionTest, AMalformedReviewIs400NamingWhatIsWrongAndRecordsNothing) {
  const uint64_t before = Records();
  json good = Review("bad", Workload("Deployment", "production", PodSpec(kOtherImage)));
  auto expect_400 = [&](const std::string& body, const std::string& words,
                        const std::string& query = "") {
    SCOPED_TRACE(words);
    adapters::HttpReply reply = server_.Post("/v1/admission" + query, body);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_THAT(reply.body, HasSubstr(words));
  };
  expect_400("{\"apiVersion\": ", "the body: malformed JSON at byte 16");
  json wrong_api = good;
  wrong_api["apiVersion"] = "admission.k8s.io/v1beta1";
  expect_400(wrong_api.dump(), "expected an AdmissionReview of apiVersion admission.k8s.io/v1");
  json no_uid = good;
  no_uid["request"].erase("uid");
  expect_400(no_uid.dump(), "request.uid is missing");
  json no_template = good;
  no_template["request"]["object"]["spec"].erase("template");
  expect_400(no_template.dump(), "request.object.spec.template is missing");
  json no_image = good;
  no_image["request"]["object"]["spec"]["template"]["spec"]["containers"][0].erase("image");
  expect_400(no_image.dump(), "request.object.spec.template.spec.containers[0] has no image");
  json containers_not_list = good;
  containers_not_list["request"]["object"]["spec"]["template"]["spec"]["containers"] = "app";
  expect_400(containers_not_list.dump(), "containers must be a list");
  json service = Review("svc", {{"kind", "Service"},
                                {"apiVersion", "v1"},
                                {"metadata", {{"name", "checkout"}, {"namespace", "production"}}}});
  expect_400(service.dump(), "kind 'Service' holds no pod template");
  expect_400(good.dump(), "environment 'qa' (/v1/admission/ENVIRONMENT) is not declared", "/qa");
  EXPECT_EQ(server_.Get("/v1/admission").status, 405);
  EXPECT_EQ(Records(), before);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
