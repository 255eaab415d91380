// `shiplog-bench admission --dir DIR`: the Kubernetes admission decision (POST /v1/admission's
// judgement, adapters/kubernetes/admission.h) on the ledger a history workload built (1M records
// in BENCHMARKS.md): each review timed alone, for p50/p99. Three reviews: a Deployment whose
// digest production started (admitted), one whose digest the ledger never saw (denied: every
// start of the digest is looked at and none is found), and a tag-only image (denied before any
// lookup). What the cluster waits for beyond it is one HTTP exchange on loopback.

#include <iostream>
#include <random>

#include "adapters/kubernetes/admission.h"
#include "ledger/index.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

using nlohmann::json;

constexpr int kReviews = 2000;

json DeploymentReview(int i, const std::string& image) {
  json pod_spec = {{"containers", {{{"name", "app"}, {"image", image}}}}};
  json object = {{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", {{"name", "app-" + std::to_string(i)}, {"namespace", "production"}}},
                 {"spec", {{"replicas", 3}, {"template", {{"spec", pod_spec}}}}}};
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "uid-" + std::to_string(i)},
            {"kind", {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}},
            {"namespace", "production"},
            {"operation", "CREATE"},
            {"object", object}}}};
}

// The images production started, sampled over the whole ledger.
std::vector<std::string> ProductionImages(const Ledger& ledger, size_t count) {
  std::vector<uint64_t> starts;
  QueryFilter filter;
  filter.kind = "step.started";
  filter.step = "production";
  Status s = ledger.QuerySeqs(filter, [&](uint64_t seq) {
    starts.push_back(seq);
    return true;
  });
  std::vector<std::string> images;
  if (!s.ok() || starts.empty()) return images;
  std::mt19937_64 rng(11);
  for (size_t i = 0; i < count; ++i) {
    auto record = ledger.Read(starts[rng() % starts.size()]);
    if (!record.ok()) continue;
    json fields = record->event.ToJson();
    std::string image = fields.value("image", std::string());
    if (image.empty()) {
      // A start without an image applies its request's: the deploy.requested of the deployment.
      QueryFilter of;
      of.deployment = std::string(record->event.deployment());
      of.kind = "deploy.requested";
      (void)ledger.Query(of, [&](const StoredRecord& r) {
        image = r.event.ToJson().value("image", std::string());
        return false;
      });
    }
    if (!image.empty()) images.push_back(image);
  }
  return images;
}

}  // namespace

int RunAdmissionWorkload(const std::string& dir, int runs) {
  InitCrypto();
  SystemClock clock;
  std::unique_ptr<Ledger> opened = OpenBenchLedger(dir, &clock);
  if (!opened) return 1;
  const Ledger& ledger = *opened;
  auto parsed = policy::ParsePolicy(policy::DefaultPolicyText(), "default.yaml");
  const policy::Policy& policy = *parsed.policy;
  const std::vector<std::string> images = ProductionImages(ledger, kReviews);
  if (images.empty()) {
    std::cerr << dir << " holds no production starts: build it with shiplog-bench history\n";
    return 1;
  }
  const std::string unknown = "registry.example/unknown@sha256:" + std::string(64, 'e');
  auto time_reviews = [&](auto image_at, bool expect_allowed) -> json {
    std::vector<double> micros;
    for (int i = 0; i < kReviews; ++i) {
      const json review = DeploymentReview(i, image_at(i));
      const auto start = BenchClock::now();
      auto verdict = adapters::JudgeAdmission(ledger, policy, review, std::nullopt);
      micros.push_back(MicrosSince(start));
      if (!verdict.ok() || verdict->allowed != expect_allowed) {
        std::cerr << "review " << i << ": "
                  << (verdict.ok() ? verdict->Message() : verdict.status().ToString()) << "\n";
        return nullptr;
      }
    }
    json summary = LatencySummary(micros);
    summary.erase("p999");
    return summary;
  };
  json out = MedianOfRuns(runs, [&]() -> json {
    json admitted = time_reviews([&](int i) { return images[i % images.size()]; }, true);
    json unknown_digest = time_reviews([&](int) { return unknown; }, false);
    json tag_only =
        time_reviews([](int) { return std::string("registry.example/app:1.2"); }, false);
    if (admitted.is_null() || unknown_digest.is_null() || tag_only.is_null()) return nullptr;
    return {{"admitted_us", admitted},
            {"unknown_digest_us", unknown_digest},
            {"tag_only_us", tag_only}};
  });
  if (out.is_null()) return 1;
  out["records"] = ledger.size();
  out["reviews_per_run"] = kReviews;
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace shiplog::bench
