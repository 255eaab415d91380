#include "adapters/http_signature.h"

#include <time.h>

#include <cctype>
#include <cstring>

#include "ledger/dsse.h"

namespace shiplog::adapters {
namespace {

// A reader of the RFC 8941 forms shiplog's two headers use (§4.2): a Dictionary whose one member
// is an Inner List of Strings (Signature-Input) or a Byte Sequence (Signature), with Parameters
// of Integers and Strings. `what` names the header in every message.
class SfReader {
 public:
  SfReader(std::string_view text, std::string what) : text_(text), what_(std::move(what)) {
    while (!text_.empty() && text_.front() == ' ') text_.remove_prefix(1);
    while (!text_.empty() && text_.back() == ' ') text_.remove_suffix(1);
  }

  // The one member's key, after checking there is one and the text does not go on to a second.
  Result<std::string> Key() {
    if (text_.empty()) return Fail("is empty");
    if (!IsLower(Peek()) && Peek() != '*') return Fail("must start with a key (a lowercase name)");
    std::string key;
    while (!AtEnd() && (IsLower(Peek()) || std::isdigit(static_cast<unsigned char>(Peek())) ||
                        std::strchr("_-.*", Peek()) != nullptr)) {
      key.push_back(Next());
    }
    return key;
  }

  Status Expect(char c, const std::string& context) {
    if (AtEnd() || Peek() != c) {
      return Fail(std::string("expected '") + c + "' " + context + Here());
    }
    ++pos_;
    return Status::Ok();
  }

  // The end of the header: a second member is refused by name.
  Status End() {
    if (AtEnd()) return Status::Ok();
    if (Peek() == ',') {
      return Status::InvalidArgument(what_ +
                                     " holds more than one signature; shiplog takes exactly one");
    }
    return Fail("has unexpected text" + Here());
  }

  // ("a" "b" ...): the Strings of an Inner List, each without parameters.
  Result<std::vector<std::string>> InnerListOfStrings() {
    SHIPLOG_RETURN_IF_ERROR(Expect('(', "to open the list of covered components"));
    std::vector<std::string> items;
    while (true) {
      while (!AtEnd() && Peek() == ' ') ++pos_;
      if (AtEnd()) return Fail("has a list of components that is never closed");
      if (Peek() == ')') break;
      if (!items.empty() && text_[pos_ - 1] != ' ') {
        return Fail("needs a space between covered components" + Here());
      }
      if (Peek() != '"') return Fail("lists a component that is not a quoted string" + Here());
      SHIPLOG_ASSIGN_OR_RETURN(std::string item, String());
      if (!AtEnd() && Peek() == ';') {
        return Fail("gives component \"" + item +
                    "\" a parameter (;sf, ;key, ;req ...); shiplog signs components without any");
      }
      items.push_back(std::move(item));
    }
    ++pos_;
    return items;
  }

  // ;name=value ... with Integer or String values.
  Result<std::vector<SignatureParam>> Params() {
    std::vector<SignatureParam> params;
    while (!AtEnd() && Peek() == ';') {
      ++pos_;
      while (!AtEnd() && Peek() == ' ') ++pos_;
      SHIPLOG_ASSIGN_OR_RETURN(std::string name, Key());
      if (name.empty()) return Fail("has a parameter without a name" + Here());
      for (const SignatureParam& p : params) {
        if (p.name == name) return Fail("repeats parameter '" + name + "'");
      }
      if (AtEnd() || Peek() != '=') {
        return Fail("gives parameter '" + name + "' no value (a boolean); shiplog reads none");
      }
      ++pos_;
      if (AtEnd()) return Fail("ends where parameter '" + name + "' needs a value");
      if (Peek() == '"') {
        SHIPLOG_ASSIGN_OR_RETURN(std::string value, String());
        params.push_back({name, value});
      } else {
        SHIPLOG_ASSIGN_OR_RETURN(int64_t value, Integer(name));
        params.push_back({name, value});
      }
    }
    return params;
  }

  // :base64: (standard alphabet, padded).
  Result<std::string> ByteSequence() {
    if (AtEnd() || Peek() != ':') {
      return Fail("must hold the signature as a byte sequence :BASE64:" + Here());
    }
    const size_t end = text_.find(':', pos_ + 1);
    if (end == std::string_view::npos) return Fail("has a byte sequence that is never closed");
    auto bytes = Base64Decode(text_.substr(pos_ + 1, end - pos_ - 1));
    if (!bytes.ok())
      return Fail("has a byte sequence that is not base64: " + bytes.status().message());
    pos_ = end + 1;
    return std::move(bytes).value();
  }

 private:
  static bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  char Next() { return text_[pos_++]; }
  std::string Here() const { return " at character " + std::to_string(pos_ + 1); }

  Status Fail(const std::string& message) const {
    return Status::InvalidArgument(what_ + " " + message);
  }

  // "..." with \" and \\ escapes, printable ASCII only.
  Result<std::string> String() {
    ++pos_;
    std::string out;
    while (!AtEnd()) {
      const char c = Next();
      if (c == '"') return out;
      if (c == '\\') {
        if (AtEnd() || (Peek() != '"' && Peek() != '\\')) {
          return Fail("has a string with a bad escape" + Here());
        }
        out.push_back(Next());
      } else if (c < 0x20 || c > 0x7e) {
        return Fail("has a string with a character that is not printable ASCII" + Here());
      } else {
        out.push_back(c);
      }
    }
    return Fail("has a string that is never closed");
  }

  Result<int64_t> Integer(const std::string& name) {
    const size_t start = pos_;
    if (!AtEnd() && Peek() == '-') ++pos_;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    const std::string_view digits = text_.substr(start, pos_ - start);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (digits.size() == (negative ? 1u : 0u)) {
      return Fail("gives parameter '" + name +
                  "' a value that is neither a string nor an integer (a token, a byte sequence "
                  "or a boolean); shiplog reads none");
    }
    if (!AtEnd() && Peek() == '.') {
      return Fail("gives parameter '" + name + "' a decimal; shiplog reads integers only");
    }
    if (digits.size() > (negative ? 16u : 15u)) {
      return Fail("gives parameter '" + name + "' an integer longer than 15 digits");
    }
    return static_cast<int64_t>(std::stoll(std::string(digits)));
  }

  std::string_view text_;
  std::string what_;
  size_t pos_ = 0;
};

// RFC 8941 §4.1.6: a String, with \ before " and \.
std::string QuotedString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

bool Printable(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> SignatureInput::IntParam(std::string_view name) const {
  for (const SignatureParam& p : params) {
    if (p.name == name && std::holds_alternative<int64_t>(p.value)) {
      return std::get<int64_t>(p.value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> SignatureInput::StringParam(std::string_view name) const {
  for (const SignatureParam& p : params) {
    if (p.name == name && std::holds_alternative<std::string>(p.value)) {
      return std::get<std::string>(p.value);
    }
  }
  return std::nullopt;
}

std::string SignatureInput::Serialize() const {
  std::string out = "(";
  for (size_t i = 0; i < components.size(); ++i) {
    out += (i == 0 ? "" : " ") + QuotedString(components[i]);
  }
  out += ")";
  for (const SignatureParam& p : params) {
    out += ";" + p.name + "=";
    if (const auto* n = std::get_if<int64_t>(&p.value)) {
      out += std::to_string(*n);
    } else {
      out += QuotedString(std::get<std::string>(p.value));
    }
  }
  return out;
}

std::string SignatureInput::HeaderValue() const { return label + "=" + Serialize(); }

Result<SignatureInput> ParseSignatureInput(std::string_view header) {
  SfReader reader(header, "Signature-Input");
  SignatureInput input;
  SHIPLOG_ASSIGN_OR_RETURN(input.label, reader.Key());
  SHIPLOG_RETURN_IF_ERROR(reader.Expect('=', "after the signature's label"));
  SHIPLOG_ASSIGN_OR_RETURN(input.components, reader.InnerListOfStrings());
  SHIPLOG_ASSIGN_OR_RETURN(input.params, reader.Params());
  SHIPLOG_RETURN_IF_ERROR(reader.End());
  return input;
}

Result<std::pair<std::string, std::string>> ParseSignatureHeader(std::string_view header) {
  SfReader reader(header, "Signature");
  SHIPLOG_ASSIGN_OR_RETURN(std::string label, reader.Key());
  SHIPLOG_RETURN_IF_ERROR(reader.Expect('=', "after the signature's label"));
  SHIPLOG_ASSIGN_OR_RETURN(std::string bytes, reader.ByteSequence());
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<SignatureParam> params, reader.Params());
  if (!params.empty()) {
    return Status::InvalidArgument(
        "Signature gives the signature parameters; they belong in "
        "Signature-Input");
  }
  SHIPLOG_RETURN_IF_ERROR(reader.End());
  return std::make_pair(std::move(label), std::move(bytes));
}

std::string SignatureHeaderValue(std::string_view label, std::string_view signature) {
  return std::string(label) + "=:" + Base64Encode(signature) + ":";
}

Result<std::string> SignatureBase(const SignatureInput& input,
                                  const std::vector<std::string>& values) {
  std::string base;
  for (size_t i = 0; i < input.components.size(); ++i) {
    if (!Printable(values.at(i))) {
      return Status::InvalidArgument("the value of component \"" + input.components[i] +
                                     "\" holds a character a signature base cannot");
    }
    base += QuotedString(input.components[i]) + ": " + values[i] + "\n";
  }
  return base + "\"@signature-params\": " + input.Serialize();
}

Result<std::vector<std::string>> ComponentValues(const std::vector<std::string>& components,
                                                 const RequestParts& request) {
  const size_t question = request.target.find('?');
  std::vector<std::string> values;
  for (const std::string& component : components) {
    if (component == "@method") {
      values.push_back(request.method);
    } else if (component == "@path") {
      std::string path = request.target.substr(0, question);
      values.push_back(path.empty() ? "/" : path);
    } else if (component == "@query") {
      values.push_back(question == std::string::npos ? "?" : request.target.substr(question));
    } else if (component == "date") {
      values.push_back(request.date);
    } else {
      return Status::InvalidArgument(
          "Signature-Input covers component \"" + component +
          "\"; shiplog signs and checks only \"@method\", \"@path\", \"@query\" and \"date\"");
    }
  }
  return values;
}

std::vector<std::pair<std::string, std::string>> SignRequest(const RequestParts& request,
                                                             const SigningKey& key, int64_t created,
                                                             const std::string& nonce) {
  SignatureInput input;
  input.label = std::string(kSignatureLabel);
  for (std::string_view c : kSignedComponents) input.components.emplace_back(c);
  input.params = {{"created", created},
                  {"keyid", dsse::KeyId(key.PublicKey())},
                  {"alg", std::string(kSignatureAlgorithm)},
                  {"nonce", nonce}};
  // The components are the four above and the values come from the caller's own request: a
  // failure here is a caller's bug (a newline in its target), which the server would refuse.
  auto values = ComponentValues(input.components, request);
  auto base = values.ok() ? SignatureBase(input, *values) : Result<std::string>(values.status());
  const std::string signature = base.ok() ? key.Sign(*base) : std::string();
  return {{"Signature-Input", input.HeaderValue()},
          {"Signature", SignatureHeaderValue(input.label, signature)}};
}

std::string HttpDate(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char out[40];
  std::snprintf(out, sizeof(out), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return out;
}

Result<int64_t> ParseHttpDate(std::string_view text) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string s(text);
  char day[4] = {}, month[4] = {};
  struct tm tm {};
  int consumed = 0;
  if (s.size() != 29 ||
      std::sscanf(s.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", day, &tm.tm_mday, month,
                  &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 7 ||
      consumed != 29) {
    return Status::InvalidArgument(
        "the Date header is not an HTTP date like 'Tue, 20 Apr 2021 "
        "02:07:55 GMT': '" +
        s.substr(0, 64) + "'");
  }
  tm.tm_mon = -1;
  for (int i = 0; i < 12; ++i) {
    if (std::strcmp(month, kMonths[i]) == 0) tm.tm_mon = i;
  }
  tm.tm_year -= 1900;
  const int64_t t = tm.tm_mon < 0 ? -1 : static_cast<int64_t>(timegm(&tm));
  // Formatting it back must give the same text: a wrong weekday or a 31st of April is refused.
  if (t < 0 || HttpDate(t) != s) {
    return Status::InvalidArgument("the Date header is not a valid HTTP date: '" + s + "'");
  }
  return t;
}

}  // namespace shiplog::adapters
