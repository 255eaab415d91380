#include "ledger/intoto.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>

#include "ledger/crypto.h"
#include "ledger/dsse.h"
#include "ledger/event.h"

namespace shiplog::intoto {
namespace {

using nlohmann::json;

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<Subject> SubjectFromJson(const json& j, size_t index) {
  const std::string where = "the statement's subject[" + std::to_string(index) + "]";
  if (!j.is_object()) return Status::InvalidArgument(where + " must be an object");
  Subject out;
  if (auto name = j.find("name"); name != j.end()) {
    if (!name->is_string()) return Status::InvalidArgument(where + ".name must be a string");
    out.name = name->get<std::string>();
  }
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_object()) {
    return Status::InvalidArgument(where + " needs a digest object");
  }
  auto sha256 = digest->find("sha256");
  if (sha256 == digest->end()) {
    std::string algorithms;
    for (auto it = digest->begin(); it != digest->end(); ++it) {
      algorithms += (algorithms.empty() ? "" : ", ") + it.key();
    }
    return Status::InvalidArgument(
        where + " has no sha256 digest (it has: " + (algorithms.empty() ? "none" : algorithms) +
        "); shiplog matches subjects by their sha256 digest");
  }
  if (!sha256->is_string() || !IsLowerHex(sha256->get_ref<const std::string&>(), 64)) {
    return Status::InvalidArgument(where + ".digest.sha256 must be 64 lowercase hex digits");
  }
  out.sha256 = sha256->get<std::string>();
  return out;
}

// The text at `path` (dotted object keys) in `j`; empty when absent or not a string.
std::string TextAt(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return "";
    auto it = at->find(key);
    if (it == at->end()) return "";
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : "";
}

size_t ListSize(const json& predicate, const char* key) {
  auto it = predicate.find(key);
  return it != predicate.end() && it->is_array() ? it->size() : 0;
}

// ---- the predicates shiplog reads ----

Result<json> ProvenanceGate(const json& predicate) {
  const std::string builder = TextAt(predicate, {"runDetails", "builder", "id"});
  if (TextAt(predicate, {"buildDefinition", "buildType"}).empty() || builder.empty()) {
    return Status::InvalidArgument(
        "a SLSA provenance v1 predicate needs buildDefinition.buildType and "
        "runDetails.builder.id");
  }
  return json{{"gate", "build"}, {"outcome", "pass"}, {"producer", builder}};
}

Result<json> TestResultGate(const json& predicate) {
  const std::string result = TextAt(predicate, {"result"});
  if (result != "PASSED" && result != "WARNED" && result != "FAILED") {
    return Status::InvalidArgument(
        "a test-result predicate's result must be PASSED, WARNED or FAILED");
  }
  json gate = {{"gate", "tests"},
               {"outcome", result == "FAILED" ? "fail" : "pass"},
               {"metrics",
                {{"passed", ListSize(predicate, "passedTests")},
                 {"warned", ListSize(predicate, "warnedTests")},
                 {"failed", ListSize(predicate, "failedTests")}}}};
  if (std::string url = TextAt(predicate, {"url"}); !url.empty()) gate["producer"] = url;
  return gate;
}

// Severity bands, worst first; CVSS v3 scores map onto them as NVD does.
constexpr std::array<const char*, 6> kSeverities = {"critical", "high",       "medium",
                                                    "low",      "negligible", "unknown"};

int SeverityRank(const std::string& text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "moderate") lower = "medium";
  if (lower == "none" || lower == "info" || lower == "informational") lower = "negligible";
  for (size_t i = 0; i < kSeverities.size(); ++i) {
    if (lower == kSeverities[i]) return static_cast<int>(i);
  }
  char* end = nullptr;
  const double score = std::strtod(lower.c_str(), &end);
  if (!lower.empty() && end == lower.c_str() + lower.size() && score >= 0 && score <= 10) {
    if (score >= 9) return 0;
    if (score >= 7) return 1;
    if (score >= 4) return 2;
    return score > 0 ? 3 : 4;
  }
  return 5;  // a scoring method shiplog cannot read (a CVSS vector, say)
}

// The worst band among a vulnerability's severities: a list of {method, score} (in-toto vulns)
// or one text (Trivy's "Severity", Grype's "severity").
int WorstSeverity(const json& severity) {
  int worst = 5;
  if (severity.is_string()) return SeverityRank(severity.get<std::string>());
  if (!severity.is_array()) return worst;
  for (const json& entry : severity) {
    if (!entry.is_object()) continue;
    if (auto score = entry.find("score"); score != entry.end() && score->is_string()) {
      const int rank = SeverityRank(score->get<std::string>());
      if (rank < 5) worst = std::min(worst, rank);
    }
  }
  return worst;
}

const json* Find(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// The severities in a scanner's result: the in-toto vulns list ([{id, severity: [...]}] or
// [{vulnerability: {id, severity}}]), a Trivy report ({"Results": [{"Vulnerabilities":
// [{"Severity"}]}]}) or a Grype report ({"matches": [{"vulnerability": {"severity"}}]}).
Result<std::vector<int>> Severities(const json& result) {
  std::vector<int> out;
  if (result.is_array()) {
    for (const json& item : result) {
      const json* vulnerability = Find(item, "vulnerability");
      const json* severity = Find(vulnerability ? *vulnerability : item, "severity");
      out.push_back(severity ? WorstSeverity(*severity) : 5);
    }
    return out;
  }
  if (const json* results = Find(result, "Results"); results && results->is_array()) {
    for (const json& target : *results) {
      const json* vulnerabilities = Find(target, "Vulnerabilities");
      if (!vulnerabilities || !vulnerabilities->is_array()) continue;
      for (const json& v : *vulnerabilities) {
        const json* severity = Find(v, "Severity");
        out.push_back(severity ? WorstSeverity(*severity) : 5);
      }
    }
    return out;
  }
  if (const json* matches = Find(result, "matches"); matches && matches->is_array()) {
    for (const json& match : *matches) {
      const json* vulnerability = Find(match, "vulnerability");
      const json* severity = vulnerability ? Find(*vulnerability, "severity") : nullptr;
      out.push_back(severity ? WorstSeverity(*severity) : 5);
    }
    return out;
  }
  return Status::InvalidArgument(
      "the scan predicate's scanner.result is neither the in-toto vulnerability list nor a "
      "Trivy or Grype report, so its vulnerabilities cannot be counted");
}

Result<json> ScanGate(const json& predicate) {
  const std::string scanner = TextAt(predicate, {"scanner", "uri"});
  const json* scanner_json = Find(predicate, "scanner");
  const json* result = scanner_json ? Find(*scanner_json, "result") : nullptr;
  if (scanner.empty() || !result) {
    return Status::InvalidArgument(
        "a vulnerability scan predicate needs scanner.uri and scanner.result");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<int> severities, Severities(*result));
  json metrics = json::object();
  for (const char* band : kSeverities) metrics[band] = 0;
  for (int rank : severities)
    metrics[kSeverities[rank]] = metrics[kSeverities[rank]].get<int>() + 1;
  metrics["total"] = severities.size();
  return json{{"gate", "scan"}, {"outcome", "pass"}, {"metrics", metrics}, {"producer", scanner}};
}

Result<std::optional<json>> KnownGate(const Statement& statement) {
  const std::string& type = statement.predicate_type;
  Result<json> gate = Status::Internal("unset");
  if (type == kSlsaProvenanceV1) {
    gate = ProvenanceGate(statement.predicate);
  } else if (type == kTestResultV01) {
    gate = TestResultGate(statement.predicate);
  } else if (type == kVulnsV01 || type == kCosignVulnV1 ||
             type == kCosignVulnV1.substr(std::string_view("https://").size())) {
    gate = ScanGate(statement.predicate);
  } else {
    return std::optional<json>();
  }
  if (!gate.ok()) return gate.status();
  json out = std::move(gate).value();
  out["predicate_type"] = type;
  return std::optional<json>(std::move(out));
}

}  // namespace

std::string Subject::ToString() const {
  return (name.empty() ? "" : name + "@") + "sha256:" + sha256;
}

Result<Statement> ParseStatement(std::string_view payload) {
  auto parsed = ParseJsonText(payload);
  if (!parsed.ok()) return parsed.status().Prefixed("the in-toto statement");
  const json& j = *parsed;
  if (!j.is_object()) return Status::InvalidArgument("an in-toto statement must be a JSON object");
  if (TextAt(j, {"_type"}) != dsse::kStatementType) {
    return Status::InvalidArgument("the statement's _type must be " +
                                   std::string(dsse::kStatementType) + " (in-toto Statement v1)");
  }
  Statement out;
  out.predicate_type = TextAt(j, {"predicateType"});
  if (out.predicate_type.empty()) {
    return Status::InvalidArgument("the statement needs a predicateType (a URI)");
  }
  auto subjects = j.find("subject");
  if (subjects == j.end() || !subjects->is_array() || subjects->empty()) {
    return Status::InvalidArgument("the statement needs a non-empty subject list");
  }
  for (size_t i = 0; i < subjects->size(); ++i) {
    SHIPLOG_ASSIGN_OR_RETURN(Subject s, SubjectFromJson((*subjects)[i], i));
    out.subjects.push_back(std::move(s));
  }
  out.predicate = json::object();
  if (auto predicate = j.find("predicate"); predicate != j.end() && !predicate->is_null()) {
    if (!predicate->is_object()) {
      return Status::InvalidArgument("the statement's predicate must be a JSON object");
    }
    out.predicate = *predicate;
  }
  return out;
}

Result<std::vector<json>> Facts(const Statement& statement, std::string_view statement_bytes) {
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<json> gate, KnownGate(statement));
  std::vector<json> out;
  if (!gate) {
    json subjects = json::array();
    for (const Subject& s : statement.subjects) subjects.push_back(s.ToString());
    out.push_back({{"kind", "attestation.stored"},
                   {"predicate_type", statement.predicate_type},
                   {"subjects", subjects},
                   {"statement_sha256", HexEncode(AsBytes(Sha256(statement_bytes)))}});
    return out;
  }
  for (const Subject& s : statement.subjects) {
    json fact = *gate;
    fact["kind"] = "gate.result";
    fact["image"] = "sha256:" + s.sha256;
    out.push_back(std::move(fact));
  }
  return out;
}

}  // namespace shiplog::intoto
