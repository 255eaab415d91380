#include "tests/server/append_load.h"

#include <nlohmann/json.hpp>

#include "adapters/http.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {

AppendLoad::AppendLoad(const ServerProcess& server, Options options)
    : options_(std::move(options)),
      url_{"127.0.0.1", std::to_string(server.port()), ""},
      ledger_key_(LedgerPublicKey(server.data())),
      server_(server) {
  for (size_t c = 0; c < options_.clients; ++c) {
    clients_.emplace_back([this, c] { RunClient(c); });
  }
}

AppendLoad::~AppendLoad() { Stop(); }

void AppendLoad::RunClient(size_t client) {
  const std::string& name = options_.agents[client % options_.agents.size()];
  const Agent agent(name, server_.key(name));
  for (size_t i = 0; i < options_.max_per_client; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    const std::string id =
        options_.id_prefix + "-c" + std::to_string(client) + "-" + std::to_string(i);
    adapters::HttpCall call;
    call.method = "POST";
    call.target = "/v1/events";
    call.content_type = adapters::kJson;
    call.body = agent.Sign(DeployRequest(id, id)).ToJson().dump();
    call.timeout = std::chrono::milliseconds(20000);
    if (!Record(id, adapters::Call(url_, call))) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++finished_;
  changed_.notify_all();
}

bool AppendLoad::Record(const std::string& id, const Result<adapters::HttpReply>& reply) {
  std::lock_guard<std::mutex> lock(mu_);
  changed_.notify_all();
  if (!reply.ok()) {
    ++answers_.cut_off;
    return false;
  }
  if (reply->status != 200) {
    answers_.refusals.push_back(*reply);
    return false;
  }
  auto parsed = ParseJsonText(reply->body, reply->body.size());
  auto receipt = parsed.ok() ? Receipt::FromJson(*parsed) : Result<Receipt>(parsed.status());
  if (!receipt.ok() || !receipt->Verify(ledger_key_).ok()) {
    answers_.problems.push_back(id + ": a receipt that does not verify: " + reply->body);
    return false;
  }
  if (!answers_.receipts.emplace(receipt->seq, id).second) {
    answers_.problems.push_back(id + ": seq " + std::to_string(receipt->seq) + " given twice");
    return false;
  }
  return true;
}

bool AppendLoad::WaitForReceipts(size_t count, std::chrono::seconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, limit, [&] {
    return answers_.receipts.size() >= count || finished_ == clients_.size();
  });
  return answers_.receipts.size() >= count;
}

size_t AppendLoad::receipts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answers_.receipts.size();
}

bool AppendLoad::WaitUntilDone(std::chrono::seconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, limit, [&] { return finished_ == clients_.size(); });
}

void AppendLoad::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  for (auto& client : clients_) {
    if (client.joinable()) client.join();
  }
}

std::vector<std::string> MissingReceipts(const std::string& data_dir,
                                         const std::map<uint64_t, std::string>& receipts) {
  StoredLedger stored(data_dir);
  std::vector<std::string> missing;
  for (const auto& [seq, id] : receipts) {
    const std::string found = stored.EventIdAt(seq);
    if (found != id) {
      missing.push_back("seq " + std::to_string(seq) + " was receipted for " + id + " but holds " +
                        (found.empty() ? "nothing" : found));
    }
  }
  return missing;
}

}  // namespace shiplog::testing
