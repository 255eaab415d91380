#include "policy/yaml_document.h"

#include <algorithm>

namespace shiplog::policy {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string Describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  return "nothing";
}

SourceLocation YamlDocument::Where(const YAML::Mark& mark) const {
  if (mark.is_null()) return {file_, 1, 1};
  return {file_, mark.line + 1, mark.column + 1};
}

SourceLocation YamlDocument::Where(const YAML::Node& node) const {
  if (node.IsNull()) {
    for (const auto& [value, key_mark] : empty_values_) {
      if (value.is(node)) return Where(key_mark);
    }
  }
  return Where(node.Mark());
}

void YamlDocument::Error(const SourceLocation& at, std::string message) {
  errors_.push_back({at, std::move(message)});
}

void YamlDocument::Error(const YAML::Node& at, std::string message) {
  Error(Where(at), std::move(message));
}

std::vector<std::pair<YAML::Node, YAML::Node>> YamlDocument::Items(const YAML::Node& map) {
  std::vector<std::pair<YAML::Node, YAML::Node>> items;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->second.IsNull()) empty_values_.emplace_back(it->second, it->first.Mark());
    items.emplace_back(it->first, it->second);
  }
  return items;
}

std::vector<YAML::Node> YamlDocument::Sequence(const YAML::Node& node, const std::string& what) {
  std::vector<YAML::Node> items;
  if (!node.IsSequence()) {
    Error(node, "expected " + what + " as a list, got " + Describe(node));
    return items;
  }
  for (auto it = node.begin(); it != node.end(); ++it) items.push_back(*it);
  return items;
}

std::optional<std::string> YamlDocument::Scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    Error(node, "expected " + what + ", got " + Describe(node));
    return std::nullopt;
  }
  return node.Scalar();
}

}  // namespace shiplog::policy
