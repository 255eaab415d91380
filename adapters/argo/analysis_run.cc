#include "adapters/argo/analysis_run.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

#include "ledger/event.h"

namespace shiplog::adapters::argo {
namespace {

using nlohmann::json;

// A YAML alias is a pointer to an earlier node: a few hundred bytes of aliases of aliases can
// name billions of nodes. The conversion counts every node it writes and stops here; a real
// AnalysisRun has a few hundred.
constexpr size_t kMaxYamlNodes = 100000;

// YAML to the JSON tree the reader walks. Every scalar becomes a string, as kubectl prints the
// fields the reader looks at (uid, phase, a measurement's value) as strings in JSON too.
class YamlToJson {
 public:
  Result<json> Convert(const YAML::Node& node, size_t depth = 1) {
    if (++nodes_ > kMaxYamlNodes) {
      return Status::InvalidArgument("the YAML document expands to more than " +
                                     std::to_string(kMaxYamlNodes) + " nodes (aliases?)");
    }
    if (depth > kMaxJsonDepth) {
      return Status::InvalidArgument("the YAML document nests deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels");
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        return json(node.Scalar());
      case YAML::NodeType::Sequence:
        return Sequence(node, depth);
      case YAML::NodeType::Map:
        return Map(node, depth);
      default:
        return json();
    }
  }

 private:
  Result<json> Sequence(const YAML::Node& node, size_t depth) {
    json out = json::array();
    for (const YAML::Node& item : node) {
      SHIPLOG_ASSIGN_OR_RETURN(json value, Convert(item, depth + 1));
      out.push_back(std::move(value));
    }
    return out;
  }

  Result<json> Map(const YAML::Node& node, size_t depth) {
    json out = json::object();
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        return Status::InvalidArgument("line " + std::to_string(item.first.Mark().line + 1) +
                                       ": a mapping key must be plain text");
      }
      SHIPLOG_ASSIGN_OR_RETURN(json value, Convert(item.second, depth + 1));
      out[item.first.Scalar()] = std::move(value);
    }
    return out;
  }

  size_t nodes_ = 0;
};

Result<json> ParseYaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard against a stack overflow; its message says only "bad file".
    return Status::InvalidArgument("the AnalysisRun nests deeper than " +
                                   std::to_string(kMaxJsonDepth) + " levels (line " +
                                   std::to_string(e.mark.line + 1) + ")");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("the AnalysisRun is not valid YAML: line " +
                                   std::to_string(e.mark.line + 1) + ", column " +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return YamlToJson().Convert(root);
}

Result<json> ParseDocument(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::InvalidArgument("the AnalysisRun is " + std::to_string(text.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Status::InvalidArgument("the AnalysisRun is empty");
  if (text[first] != '{') return ParseYaml(text);
  auto parsed = ParseJsonText(text, max_bytes);
  if (!parsed.ok()) return parsed.status().Prefixed("the AnalysisRun is not valid JSON");
  return parsed;
}

// What a JSON value is, for messages.
std::string Describe(const json& value) {
  if (value.is_null()) return "nothing";
  if (value.is_object()) return "a mapping";
  if (value.is_array()) return "a list";
  if (value.is_string()) return "text";
  return "a " + std::string(value.type_name());
}

// `object[key]` as text; nullopt when absent or null. `path` names the field in messages.
Result<std::optional<std::string>> OptionalText(const json& object, const char* key,
                                                const std::string& path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status::InvalidArgument(path + " must be text, not " + Describe(*it));
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RequiredText(const json& object, const char* key, const std::string& path) {
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> text, OptionalText(object, key, path));
  if (!text || text->empty()) return Status::InvalidArgument(path + " is missing");
  return *text;
}

// `object[key]` when it is of the wanted shape; an empty one of that shape when absent.
Result<json> Part(const json& object, const char* key, json::value_t type,
                  const std::string& path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return json(type);
  if (it->type() != type) {
    return Status::InvalidArgument(path + " must be " + Describe(json(type)) + ", not " +
                                   Describe(*it));
  }
  return *it;
}

Status CheckKind(const json& doc) {
  if (!doc.is_object()) {
    return Status::InvalidArgument("the document is " + Describe(doc) +
                                   ", not an AnalysisRun (a mapping with kind: AnalysisRun)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::string kind, RequiredText(doc, "kind", "kind"));
  SHIPLOG_ASSIGN_OR_RETURN(std::string api, RequiredText(doc, "apiVersion", "apiVersion"));
  if (kind == "List") {
    return Status::InvalidArgument(
        "the document is a List: pin one AnalysisRun at a time (kubectl get analysisrun NAME "
        "-o yaml)");
  }
  if (kind != "AnalysisRun") {
    return Status::InvalidArgument("kind is '" + kind + "', not AnalysisRun");
  }
  if (api.rfind("argoproj.io/", 0) != 0) {
    return Status::InvalidArgument("apiVersion is '" + api +
                                   "', not an Argo Rollouts one (argoproj.io/v1alpha1)");
  }
  return Status::Ok();
}

// Where a run may name a deployment, image or step, and what it says there.
struct Naming {
  const char* arg;
  const char* label;
  const char* what;  // "deployment", for messages
};

// The value of spec.args[] entry `name`; nullopt when there is none.
Result<std::optional<std::string>> ArgValue(const json& args, const std::string& name) {
  for (const json& arg : args) {
    if (!arg.is_object()) {
      return Status::InvalidArgument("spec.args holds " + Describe(arg) + ", not {name, value}");
    }
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> arg_name,
                             OptionalText(arg, "name", "spec.args[].name"));
    if (arg_name != name) continue;
    const std::string path = "spec.args '" + name + "'";
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             OptionalText(arg, "value", path + " value"));
    if (!value || value->empty()) {
      return Status::InvalidArgument(path + " has no value (give it as value:, not valueFrom:)");
    }
    return value;
  }
  return std::optional<std::string>();
}

// What the run names for `naming`: the arg, the label and the annotation, which must agree.
Result<std::string> Named(const json& args, const json& labels, const json& annotations,
                          const Naming& naming) {
  std::vector<std::pair<std::string, std::string>> found;  // (where, value)
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> arg, ArgValue(args, naming.arg));
  if (arg) found.emplace_back("spec.args '" + std::string(naming.arg) + "'", *arg);
  for (const auto& [map, where] : {std::make_pair(&labels, "metadata.labels"),
                                   std::make_pair(&annotations, "metadata.annotations")}) {
    const std::string path = std::string(where) + " '" + naming.label + "'";
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             OptionalText(*map, naming.label, path));
    if (value && !value->empty()) found.emplace_back(path, *value);
  }
  for (const auto& [where, value] : found) {
    if (value != found.front().second) {
      return Status::InvalidArgument("the AnalysisRun names two " + std::string(naming.what) +
                                     "s: '" + found.front().second + "' in " + found.front().first +
                                     " and '" + value + "' in " + where);
    }
  }
  return found.empty() ? std::string() : found.front().second;
}

// A measured value as a number: plain decimal text, or a Prometheus vector of one ("[0.05]").
// Hex, inf and nan are not numbers here: a gate metric must be finite.
std::optional<double> MetricNumber(std::string text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// The latest measurement's value that parses as a number; nullopt when the latest one with a
// value is not numeric, or none has a value.
Result<std::optional<double>> LatestNumber(const json& measurements, const std::string& path) {
  for (auto it = measurements.rbegin(); it != measurements.rend(); ++it) {
    if (!it->is_object()) {
      return Status::InvalidArgument(path + " holds " + Describe(*it) + ", not a measurement");
    }
    auto value = it->find("value");
    if (value == it->end() || value->is_null()) continue;
    if (value->is_number()) return std::optional<double>(value->get<double>());
    if (!value->is_string()) {
      return Status::InvalidArgument(path + "[].value must be text, not " + Describe(*value));
    }
    if (value->get<std::string>().empty()) continue;
    return MetricNumber(value->get<std::string>());
  }
  return std::optional<double>();
}

// The metric's name as the policy reads it.
std::string PolicyName(std::string name) {
  for (char& c : name) c = c == '-' ? '_' : c;
  return name;
}

Result<std::map<std::string, double>> Metrics(const json& status) {
  SHIPLOG_ASSIGN_OR_RETURN(
      json results, Part(status, "metricResults", json::value_t::array, "status.metricResults"));
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> written_as;  // policy name -> the run's name
  for (const json& result : results) {
    if (!result.is_object()) {
      return Status::InvalidArgument("status.metricResults holds " + Describe(result) +
                                     ", not a metric result");
    }
    SHIPLOG_ASSIGN_OR_RETURN(std::string name,
                             RequiredText(result, "name", "status.metricResults[].name"));
    const std::string path = "status.metricResults '" + name + "' measurements";
    SHIPLOG_ASSIGN_OR_RETURN(json measurements,
                             Part(result, "measurements", json::value_t::array, path));
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<double> value, LatestNumber(measurements, path));
    const std::string key = PolicyName(name);
    auto [earlier, fresh] = written_as.emplace(key, name);
    if (!fresh) {
      return Status::InvalidArgument("metrics '" + earlier->second + "' and '" + name +
                                     "' would both be recorded as '" + key + "'");
    }
    if (value) metrics[key] = *value;
  }
  return metrics;
}

Status CheckFinished(const std::string& name, const std::string& phase) {
  if (phase == "Successful" || phase == "Failed" || phase == "Error" || phase == "Inconclusive") {
    return Status::Ok();
  }
  if (phase.empty() || phase == "Pending" || phase == "Running") {
    return Status::InvalidArgument(
        "AnalysisRun " + name + " is not finished (status.phase " +
        (phase.empty() ? std::string("not set") : phase) +
        "): pin it once it is Successful, Failed, Error or Inconclusive");
  }
  return Status::InvalidArgument("AnalysisRun " + name + " has an unknown status.phase '" + phase +
                                 "' (Successful, Failed, Error, Inconclusive, Pending, Running)");
}

Result<AnalysisRun> ReadFields(const json& doc) {
  AnalysisRun run;
  SHIPLOG_ASSIGN_OR_RETURN(json metadata, Part(doc, "metadata", json::value_t::object, "metadata"));
  SHIPLOG_ASSIGN_OR_RETURN(run.uid, RequiredText(metadata, "uid", "metadata.uid"));
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> name,
                           OptionalText(metadata, "name", "metadata.name"));
  run.name = name.value_or(run.uid);
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> ns,
                           OptionalText(metadata, "namespace", "metadata.namespace"));
  run.namespace_ = ns.value_or("");
  SHIPLOG_ASSIGN_OR_RETURN(json status, Part(doc, "status", json::value_t::object, "status"));
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<std::string> phase,
                           OptionalText(status, "phase", "status.phase"));
  run.phase = phase.value_or("");
  SHIPLOG_RETURN_IF_ERROR(CheckFinished(run.name, run.phase));

  SHIPLOG_ASSIGN_OR_RETURN(json spec, Part(doc, "spec", json::value_t::object, "spec"));
  SHIPLOG_ASSIGN_OR_RETURN(json args, Part(spec, "args", json::value_t::array, "spec.args"));
  SHIPLOG_ASSIGN_OR_RETURN(json labels,
                           Part(metadata, "labels", json::value_t::object, "metadata.labels"));
  SHIPLOG_ASSIGN_OR_RETURN(json annotations, Part(metadata, "annotations", json::value_t::object,
                                                  "metadata.annotations"));
  SHIPLOG_ASSIGN_OR_RETURN(run.deployment, Named(args, labels, annotations,
                                                 {kDeploymentArg, kDeploymentLabel, "deployment"}));
  if (run.deployment.empty()) {
    return Status::InvalidArgument("AnalysisRun " + run.name +
                                   " names no shiplog deployment: give the AnalysisTemplate an "
                                   "arg '" +
                                   kDeploymentArg + "', or the run a label or annotation '" +
                                   kDeploymentLabel + "'");
  }
  SHIPLOG_ASSIGN_OR_RETURN(run.image,
                           Named(args, labels, annotations, {kImageArg, kImageLabel, "image"}));
  SHIPLOG_ASSIGN_OR_RETURN(run.step,
                           Named(args, labels, annotations, {kStepArg, kStepLabel, "step"}));
  SHIPLOG_ASSIGN_OR_RETURN(run.metrics, Metrics(status));
  return run;
}

}  // namespace

Result<AnalysisRun> ReadAnalysisRun(std::string_view text, size_t max_bytes) {
  SHIPLOG_ASSIGN_OR_RETURN(json doc, ParseDocument(text, max_bytes));
  SHIPLOG_RETURN_IF_ERROR(CheckKind(doc));
  SHIPLOG_ASSIGN_OR_RETURN(AnalysisRun run, ReadFields(doc));
  // Checked as an event now (names, sizes), so a bad uid or deployment name is refused before
  // anything is signed; the signer's own name replaces this one.
  json event = GateResultEvent(run);
  event["actor"] = "argo";
  auto checked = Event::FromJson(event);
  if (!checked.ok()) {
    return checked.status().Prefixed("the gate.result for AnalysisRun " + run.name);
  }
  return run;
}

void StepFromNamespace(const policy::Policy& policy, AnalysisRun& run) {
  if (!run.step.empty() || run.namespace_.empty()) return;
  const policy::EnvironmentBinding* environment = policy.EnvironmentForNamespace(run.namespace_);
  if (environment != nullptr) run.step = environment->step;
}

std::string PinnedEventId(const AnalysisRun& run) { return "analysisrun:" + run.uid; }

json GateResultEvent(const AnalysisRun& run) {
  json event = {{"kind", "gate.result"},
                {"id", PinnedEventId(run)},
                {"deployment", run.deployment},
                {"gate", "analysis"},
                {"outcome", run.passed() ? "pass" : "fail"}};
  if (!run.metrics.empty()) event["metrics"] = run.metrics;
  if (!run.image.empty()) event["image"] = run.image;
  if (!run.step.empty()) event["step"] = run.step;
  return event;
}

}  // namespace shiplog::adapters::argo
