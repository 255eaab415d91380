// The Policy value's small helpers. Parsing is in policy_parser.cc.
#include "policy/policy.h"

#include <algorithm>

#include "ledger/key_registry.h"

namespace shiplog::policy {

std::string SourceLocation::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string PolicyError::ToString() const { return where.ToString() + ": " + message; }

const Rule* Policy::FindRule(const std::string& id_or_name) const {
  // Ids first: a rule named like another rule's id must not shadow it.
  for (const Rule& rule : rules) {
    if (rule.id == id_or_name) return &rule;
  }
  for (const Rule& rule : rules) {
    if (rule.name == id_or_name) return &rule;
  }
  return nullptr;
}

const ChainStep* Policy::FindStep(const std::string& step) const {
  for (const ChainStep& s : chain) {
    if (s.step == step) return &s;
  }
  return nullptr;
}

bool Policy::RoleMayEmit(const std::string& role, const std::string& kind) const {
  auto it = roles.find(role);
  if (it == roles.end()) return false;
  return std::find(it->second.begin(), it->second.end(), kind) != it->second.end();
}

namespace {

bool Lists(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool ReadScope::CoversDeployment(const std::string& app, const std::string& environment) const {
  if (all) return true;
  for (const ReadGrant& g : deployments) {
    if ((g.apps.empty() || Lists(g.apps, app)) &&
        (g.environments.empty() || Lists(g.environments, environment))) {
      return true;
    }
  }
  return false;
}

bool ReadAccess::IsPublic(const std::string& group) const { return Lists(public_groups, group); }

RateLimit Limits::ForRoles(const std::vector<std::string>& key_roles) const {
  std::optional<RateLimit> best;
  for (const std::string& role : key_roles) {
    auto it = roles.find(role);
    if (it == roles.end()) continue;
    const RateLimit& r = it->second;
    if (r.off()) return r;
    if (!best || r.rate > best->rate || (r.rate == best->rate && r.burst > best->burst)) best = r;
  }
  return best.value_or(key);
}

ReadScope ReadAccess::ScopeOf(const std::vector<std::string>& key_roles) const {
  ReadScope scope;
  for (const std::string& role : key_roles) {
    if (role == kAdminRole) scope.all = true;
    auto it = roles.find(role);
    if (it == roles.end()) continue;
    scope.proofs = true;
    if (it->second.scope == ReadGrant::Scope::kAll) scope.all = true;
    if (it->second.scope == ReadGrant::Scope::kDeployments) scope.deployments.push_back(it->second);
  }
  scope.proofs = scope.proofs || scope.all;
  return scope;
}

namespace {

const EnvironmentBinding* FindBinding(
    const std::map<std::string, EnvironmentBinding>& environments,
    const std::vector<std::string> EnvironmentBinding::*list, const std::string& value) {
  for (const auto& [name, binding] : environments) {
    const auto& values = binding.*list;
    if (std::find(values.begin(), values.end(), value) != values.end()) return &binding;
  }
  return nullptr;
}

}  // namespace

const EnvironmentBinding* Policy::EnvironmentForNamespace(const std::string& ns) const {
  return FindBinding(environments, &EnvironmentBinding::namespaces, ns);
}

const EnvironmentBinding* Policy::EnvironmentForGithub(const std::string& github_environment) const {
  return FindBinding(environments, &EnvironmentBinding::github_environments, github_environment);
}

const EnvironmentBinding* Policy::FindEnvironment(const std::string& name) const {
  auto it = environments.find(name);
  return it == environments.end() ? nullptr : &it->second;
}

}  // namespace shiplog::policy
