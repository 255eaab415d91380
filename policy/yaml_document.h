// YamlDocument: reading a YAML file while keeping every error as file:line:column. The policy
// parser and the policy tests parser are both built on it. Internal to policy/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.h"

namespace shiplog::policy {

// "a, b, c"
std::string Join(const std::vector<std::string>& items);
bool Contains(const std::vector<std::string>& items, const std::string& item);
// What a node is, for messages: "a list", "a mapping", "'text'", "nothing".
std::string Describe(const YAML::Node& node);

class YamlDocument {
 public:
  explicit YamlDocument(std::string file) : file_(std::move(file)) {}

  std::vector<PolicyError>& errors() { return errors_; }

 protected:
  SourceLocation Where(const YAML::Mark& mark) const;
  // A value written as nothing ("name:") is placed at its key: yaml-cpp marks it at the next
  // token, often on the next line, which would point the reader at the wrong line.
  SourceLocation Where(const YAML::Node& node) const;
  void Error(const YAML::Node& at, std::string message);
  void Error(const SourceLocation& at, std::string message);

  // A mapping's (key, value) pairs, noting where empty values were written.
  std::vector<std::pair<YAML::Node, YAML::Node>> Items(const YAML::Node& map);
  std::vector<YAML::Node> Sequence(const YAML::Node& node, const std::string& what);
  std::optional<std::string> Scalar(const YAML::Node& node, const std::string& what);

  std::string file_;
  std::vector<PolicyError> errors_;

 private:
  std::vector<std::pair<YAML::Node, YAML::Mark>> empty_values_;
};

}  // namespace shiplog::policy
