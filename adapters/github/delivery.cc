#include "adapters/github/delivery.h"

#include <cctype>

#include "ledger/event.h"
#include "ledger/terminal_text.h"

namespace shiplog::adapters::github {
namespace {

using nlohmann::json;

Status Missing(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("the delivery's field '" + field + "' " + what);
}

Result<std::string> Text(const json& object, const std::string& name, const std::string& path) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return Missing(path, "is missing");
  if (!it->is_string()) return Missing(path, "is not a string");
  if (it->get_ref<const std::string&>().empty()) return Missing(path, "is empty");
  return it->get<std::string>();
}

Result<const json*> Object(const json& object, const std::string& name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return Missing(name, "is missing");
  if (!it->is_object()) return Missing(name, "is not an object");
  return &*it;
}

bool IsHex(const std::string& text) {
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// GitHub's owner and repository names: letters, digits, '-', '_' and '.'.
bool IsRepositoryName(const std::string& name) {
  const size_t slash = name.find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == name.size() ||
      name.find('/', slash + 1) != std::string::npos || name.size() > 200) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '/') {
      return false;
    }
  }
  return true;
}

Status ReadDeployment(const json& body, ProtectionRuleDelivery& out) {
  SHIPLOG_ASSIGN_OR_RETURN(const json* deployment, Object(body, "deployment"));
  SHIPLOG_ASSIGN_OR_RETURN(out.sha, Text(*deployment, "sha", "deployment.sha"));
  if ((out.sha.size() != 40 && out.sha.size() != 64) || !IsHex(out.sha)) {
    return Missing("deployment.sha", "is not a commit id (40 or 64 hex digits)");
  }
  for (char& c : out.sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Status::Ok();
}

Status ReadRepositoryAndInstallation(const json& body, ProtectionRuleDelivery& out) {
  SHIPLOG_ASSIGN_OR_RETURN(const json* repository, Object(body, "repository"));
  SHIPLOG_ASSIGN_OR_RETURN(out.repository, Text(*repository, "full_name", "repository.full_name"));
  if (!IsRepositoryName(out.repository)) {
    return Missing("repository.full_name", "is not OWNER/REPO");
  }
  auto installation = Object(body, "installation");
  if (!installation.ok()) {
    return installation.status().Prefixed(
        "a GitHub App's delivery carries installation.id (is the webhook the App's?)");
  }
  auto id = (*installation)->find("id");
  if (id == (*installation)->end() || !id->is_number_integer() || id->get<int64_t>() <= 0) {
    return Missing("installation.id", "is not a positive integer");
  }
  out.installation_id = id->get<int64_t>();
  return Status::Ok();
}

// Event and payload text, inert in Markdown: no controls or bidi tricks (TerminalText), and
// every character that could start a link, an image, HTML, code or emphasis escaped.
std::string MarkdownText(std::string_view text) {
  static constexpr std::string_view kActive = "\\`*_{}[]()<>#|~!&";
  std::string out;
  for (char c : TerminalText(text)) {
    if (kActive.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// `text` cut to at most `bytes` without splitting a UTF-8 character.
std::string CutUtf8(std::string text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

std::string ReasonLine(const json& reason) {
  auto field = [&](const char* name) {
    auto it = reason.find(name);
    return it != reason.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string line = "- **" + MarkdownText(field("rule"));
  if (!field("name").empty()) line += " " + MarkdownText(field("name"));
  return line + "**: " + MarkdownText(field("message")) + "\n";
}

std::string Headline(const ProtectionRuleDelivery& delivery, const ReviewVerdict& verdict) {
  std::string line = std::string("shiplog ") + (verdict.allowed ? "approved" : "rejected") + " **" +
                     MarkdownText(delivery.environment) + "** for " +
                     MarkdownText(delivery.repository) + "@" + delivery.sha.substr(0, 12);
  if (!verdict.deployment.empty()) {
    line += ": deployment " + MarkdownText(verdict.deployment);
    if (!verdict.step.empty()) line += ", step " + MarkdownText(verdict.step);
  }
  return line + (verdict.allowed ? ".\n" : ":\n");
}

}  // namespace

Result<ProtectionRuleDelivery> ParseProtectionRuleDelivery(std::string_view body) {
  auto parsed = ParseJsonText(body, body.size());
  if (!parsed.ok()) return parsed.status().Prefixed("the delivery's body");
  if (!parsed->is_object()) return Status::InvalidArgument("the delivery's body is not an object");
  ProtectionRuleDelivery out;
  SHIPLOG_ASSIGN_OR_RETURN(out.action, Text(*parsed, "action", "action"));
  if (out.action != "requested") return out;
  SHIPLOG_ASSIGN_OR_RETURN(out.environment, Text(*parsed, "environment", "environment"));
  SHIPLOG_ASSIGN_OR_RETURN(out.callback_url,
                           Text(*parsed, "deployment_callback_url", "deployment_callback_url"));
  Status read = ReadDeployment(*parsed, out);
  if (read.ok()) read = ReadRepositoryAndInstallation(*parsed, out);
  if (!read.ok()) return read;
  return out;
}

std::string TimelineUrl(const std::string& public_url, const std::string& deployment) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string base = public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string id;
  for (unsigned char c : deployment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      id.push_back(static_cast<char>(c));
    } else {
      id += {'%', kDigits[c >> 4], kDigits[c & 0xf]};
    }
  }
  return base + "/v1/deployments/" + id + "/timeline?format=html";
}

std::string ReviewComment(const ProtectionRuleDelivery& delivery, const ReviewVerdict& verdict,
                          const std::string& public_url) {
  std::string footer = verdict.deployment.empty()
                           ? std::string()
                           : "\n[Timeline](" + TimelineUrl(public_url, verdict.deployment) + ")";
  if (footer.size() > kMaxCommentBytes / 4) footer.clear();  // a link that long helps no one
  std::string text = CutUtf8(Headline(delivery, verdict), kMaxCommentBytes / 2);
  const json reasons = verdict.decision.is_object() && verdict.decision.contains("reasons") &&
                               verdict.decision["reasons"].is_array()
                           ? verdict.decision["reasons"]
                           : json::array();
  for (size_t i = 0; i < reasons.size(); ++i) {
    const std::string line = reasons[i].is_object() ? ReasonLine(reasons[i]) : std::string();
    const std::string more = "- and " + std::to_string(reasons.size() - i) + " more\n";
    // Room is kept for the footer and for saying how many reasons were left out.
    if (text.size() + line.size() + more.size() + footer.size() > kMaxCommentBytes) {
      text += more;
      break;
    }
    text += line;
  }
  return CutUtf8(text, kMaxCommentBytes - footer.size()) + footer;
}

json ReviewBody(const ProtectionRuleDelivery& delivery, const ReviewVerdict& verdict,
                const std::string& public_url) {
  return {{"environment_name", delivery.environment},
          {"state", verdict.allowed ? "approved" : "rejected"},
          {"comment", ReviewComment(delivery, verdict, public_url)}};
}

}  // namespace shiplog::adapters::github
