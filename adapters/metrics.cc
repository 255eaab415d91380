#include "adapters/metrics.h"

#include <sstream>

namespace shiplog::adapters {
namespace {

std::string Number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  ++count_;
  double sum = sum_.load();
  while (!sum_.compare_exchange_weak(sum, sum + value)) {
  }
}

std::string Histogram::Render(const std::string& name, const std::string& help) const {
  std::ostringstream out;
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load();
    out << name << "_bucket{le=\"" << Number(bounds_[i]) << "\"} " << cumulative << "\n";
  }
  cumulative += counts_.back().load();
  out << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
  out << name << "_sum " << Number(sum_.load()) << "\n" << name << "_count " << count_.load() << "\n";
  return out.str();
}

Metrics::Metrics()
    : append_latency_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                       0.25, 0.5, 1, 2.5}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}),
      commit_seconds_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}) {}

void Metrics::BatchCommitted(size_t size, double seconds) {
  batch_size_.Observe(static_cast<double>(size));
  commit_seconds_.Observe(seconds);
}

void Metrics::Appended(bool denied, const std::vector<std::string>& rules, double seconds) {
  ++appends_;
  append_latency_.Observe(seconds);
  if (!denied) return;
  ++denials_;
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& rule : rules) ++denials_by_rule_[rule];
}

void Metrics::Refused() { ++refused_; }

void Metrics::ReadRefused(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++reads_refused_[reason];
}

void Metrics::RateLimited(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rate_limited_[scope];
}

void Metrics::Request(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++responses_[status];
}

std::string Metrics::Render() const {
  std::ostringstream out;
  out << "# HELP shiplog_appends_total Events stored (a denied intent is stored as its denial).\n"
      << "# TYPE shiplog_appends_total counter\nshiplog_appends_total " << appends_.load() << "\n"
      << "# HELP shiplog_denials_total Intents the policy denied.\n"
      << "# TYPE shiplog_denials_total counter\nshiplog_denials_total " << denials_.load() << "\n"
      << "# HELP shiplog_refused_total Submissions refused before the policy (bad input, bad "
         "signature, unknown key, conflict).\n"
      << "# TYPE shiplog_refused_total counter\nshiplog_refused_total " << refused_.load() << "\n"
      << "# HELP shiplog_reads_signed_total Signed reads accepted.\n"
      << "# TYPE shiplog_reads_signed_total counter\nshiplog_reads_signed_total "
      << reads_signed_.load() << "\n"
      << "# HELP shiplog_open_connections Client connections open now.\n"
      << "# TYPE shiplog_open_connections gauge\nshiplog_open_connections "
      << open_connections_.load() << "\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    out << "# HELP shiplog_denials_by_rule_total Denials by the rule that failed (a denial may "
           "name several).\n# TYPE shiplog_denials_by_rule_total counter\n";
    for (const auto& [rule, n] : denials_by_rule_) {
      out << "shiplog_denials_by_rule_total{rule=\"" << rule << "\"} " << n << "\n";
    }
    out << "# HELP shiplog_reads_refused_total Reads refused: 401 (unsigned, malformed, expired, "
           "replayed, bad_signature, unknown_key, revoked_key) or 403 (forbidden).\n"
        << "# TYPE shiplog_reads_refused_total counter\n";
    for (const auto& [reason, n] : reads_refused_) {
      out << "shiplog_reads_refused_total{reason=\"" << reason << "\"} " << n << "\n";
    }
    out << "# HELP shiplog_rate_limited_total Requests answered 429 by a rate limit, by scope "
           "(connection: per client address; key: per enrolled key).\n"
        << "# TYPE shiplog_rate_limited_total counter\n";
    for (const char* scope : {"connection", "key"}) {
      auto it = rate_limited_.find(scope);
      out << "shiplog_rate_limited_total{scope=\"" << scope << "\"} "
          << (it == rate_limited_.end() ? 0 : it->second) << "\n";
    }
    out << "# HELP shiplog_http_responses_total HTTP responses by status code.\n"
        << "# TYPE shiplog_http_responses_total counter\n";
    for (const auto& [status, n] : responses_) {
      out << "shiplog_http_responses_total{code=\"" << status << "\"} " << n << "\n";
    }
  }
  out << append_latency_.Render("shiplog_append_latency_seconds",
                                "From a submission's arrival to its durable answer.")
      << batch_size_.Render("shiplog_batch_size", "Events per group commit.")
      << commit_seconds_.Render("shiplog_batch_commit_seconds",
                                "Time the sequencer spends on one batch (policy, tree, fsync).");
  return out.str();
}

}  // namespace shiplog::adapters
