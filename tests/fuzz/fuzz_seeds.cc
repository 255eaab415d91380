// Writes the seeds of the fuzz targets that read what the ledger makes, made by the real code
// from the fuzz ledger (fuzz_ledger.h), into CORPUS/<target>/ under fixed names: bundles
// (ExportBundle, as `shiplog export`), snapshots (EncodeSnapshot, as replay), DSSE envelopes
// (dsse::Sign, as `shiplog sign --dsse`) and HTTP requests with the server tests' paths. The fuzz
// ledger is the same in every process, so these stay valid seeds: tools/fuzz.sh rewrites them on
// every run, and they come out the same.
//
//   fuzz_seeds CORPUS
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ledger/bundle.h"
#include "ledger/dsse.h"
#include "replay/replay.h"
#include "replay/snapshot.h"
#include "tests/fuzz/fuzz_ledger.h"

namespace {

using nlohmann::json;
using shiplog::fuzz::FuzzLedger;
namespace fs = std::filesystem;

template <typename T>
T Must(shiplog::Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void Write(const fs::path& corpus, const std::string& target, const std::string& name,
           const std::string& bytes) {
  fs::create_directories(corpus / target);
  std::ofstream(corpus / target / name, std::ios::binary) << bytes;
}

std::string Http(const std::string& method, const std::string& target,
                 const std::string& content_type = "", const std::string& body = "") {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
  if (method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

void WriteBundles(const fs::path& corpus, const shiplog::Ledger& ledger) {
  Write(corpus, "bundle", "seed-deployment.json",
        Must(shiplog::ExportBundle(ledger, shiplog::fuzz::kDeployment, std::nullopt)).dump(1));
  const shiplog::Checkpoint kept = Must(ledger.CheckpointAt(4));
  Write(corpus, "bundle", "seed-deployment-since-4.json",
        Must(shiplog::ExportBundle(ledger, shiplog::fuzz::kDeployment, kept)).dump(1));
}

void WriteSnapshots(const fs::path& corpus, const shiplog::Ledger& ledger) {
  for (uint64_t seq : {uint64_t{0}, uint64_t{8}, ledger.size() - 1}) {
    auto fold = Must(shiplog::replay::FoldThrough(ledger, seq, {}));
    Write(corpus, "snapshot", "seed-at-" + std::to_string(seq) + ".snap",
          Must(shiplog::replay::EncodeSnapshot(fold, ledger)));
  }
}

// The stored event again in a DSSE envelope by its own signer: the ledger holds its id already.
std::string StoredEventEnvelope(const FuzzLedger& fixture) {
  const json& event = fixture.stored_event();
  return shiplog::dsse::Sign(std::string(shiplog::dsse::kShiplogEventType), event.dump(),
                             FuzzLedger::KeyOf(event.at("actor").get<std::string>()))
      .ToJson()
      .dump();
}

void WriteRequests(const fs::path& corpus, const FuzzLedger& fixture) {
  const std::string envelope = StoredEventEnvelope(fixture);
  Write(corpus, "dsse", "seed-shiplog-event.json", envelope);
  Write(corpus, "http", "seed-submit-repeat",
        Http("POST", "/v1/events", "application/json", fixture.stored_signed_event().dump()));
  Write(corpus, "http", "seed-submit-dsse",
        Http("POST", "/v1/events", "application/vnd.dsse.envelope.v1+json", envelope));
  Write(corpus, "http", "seed-check",
        Http("POST", "/v1/check", "application/json",
             R"({"kind":"step.started","actor":"rutger","deployment":"d-1","step":"production"})"));
  const std::vector<std::string> reads = {"/healthz",
                                          "/readyz",
                                          "/metrics",
                                          "/v1/checkpoint",
                                          "/checkpoint",
                                          "/tile/0/000.p/9",
                                          "/tile/entries/000.p/9",
                                          "/v1/proofs/inclusion?seq=3&size=9",
                                          "/v1/proofs/consistency?from=2&to=9",
                                          "/v1/deployments/d-1",
                                          "/v1/deployments/d-1?at=5",
                                          "/v1/deployments/d-1/timeline",
                                          "/v1/deployments/d-1/timeline?format=html&limit=3",
                                          "/v1/query?deployment=d-1",
                                          "/v1/query?actor=leon&count=true",
                                          "/v1/records/9/attestation",
                                          "/v1/argo/canary?deployment=d-1"};
  std::string pipelined;
  for (size_t i = 0; i < reads.size(); ++i) {
    const std::string request = Http("GET", reads[i]);
    Write(corpus, "http", "seed-get-" + std::to_string(i), request);
    pipelined += request;
  }
  Write(corpus, "http", "seed-pipelined", pipelined);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds CORPUS\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  FuzzLedger& fixture = FuzzLedger::Get();
  WriteBundles(corpus, fixture.ledger());
  WriteSnapshots(corpus, fixture.ledger());
  WriteRequests(corpus, fixture);
  return 0;
}
