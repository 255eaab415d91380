// HTTP Message Signatures (RFC 9421) with Ed25519, as shiplog's read clients sign requests and
// `shiplog serve` checks them.
//
// A signed request carries two RFC 8941 Dictionary headers with one member each, under the same
// label:
//
//   Date: Tue, 20 Apr 2021 02:07:55 GMT
//   Signature-Input: sig1=("@method" "@path" "@query" "date");created=1618884473;
//                    keyid="<hex SHA-256 of the key>";alg="ed25519";nonce="<random>"
//   Signature: sig1=:<base64 of the 64-byte Ed25519 signature>:
//
// The signature covers the signature base (RFC 9421 §2.5): one line per covered component,
// `"<name>": <value>`, then `"@signature-params": <the inner list and its parameters>`. keyid is
// dsse::KeyId of the signer's public key, the name attestations give the same key.
//
// Parsing is strict: anything RFC 8941 allows that shiplog does not use (tokens, decimals,
// booleans, component parameters, a second signature) is refused with a message naming it, never
// skipped, so what the server checks is exactly what was signed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog::adapters {

// The components every shiplog read signature covers, in the order the CLI signs them.
inline constexpr std::string_view kSignedComponents[] = {"@method", "@path", "@query", "date"};
// What a browser signs (the console, adapters/console/): the same without "date", since a page
// may not set the Date header (a forbidden header in the Fetch standard). The signed `created`
// parameter bounds its age just as well.
inline constexpr std::string_view kBrowserSignedComponents[] = {"@method", "@path", "@query"};
// The label the CLI gives its signature (any label is accepted).
inline constexpr std::string_view kSignatureLabel = "sig1";
inline constexpr std::string_view kSignatureAlgorithm = "ed25519";

// One signature parameter (RFC 9421 §2.3): created and expires are integers, the rest strings.
struct SignatureParam {
  std::string name;
  std::variant<int64_t, std::string> value;
};

// A parsed Signature-Input member: the label, the covered component identifiers (without
// quotes) and the parameters, in the order written (the signature base repeats them so).
struct SignatureInput {
  std::string label;
  std::vector<std::string> components;
  std::vector<SignatureParam> params;

  // The parameter `name`'s integer / string value; nullopt when absent or of the other type.
  std::optional<int64_t> IntParam(std::string_view name) const;
  std::optional<std::string> StringParam(std::string_view name) const;
  // The value of "@signature-params": the inner list with its parameters, serialized (RFC 8941).
  std::string Serialize() const;
  // The Signature-Input header's value: label=<Serialize()>.
  std::string HeaderValue() const;
};

// Parses a Signature-Input header holding exactly one signature. kInvalidArgument naming what is
// not understood.
Result<SignatureInput> ParseSignatureInput(std::string_view header);
// Parses a Signature header holding exactly one signature: its label and raw bytes.
Result<std::pair<std::string, std::string>> ParseSignatureHeader(std::string_view header);
// The Signature header's value for `signature` (raw bytes) under `label`.
std::string SignatureHeaderValue(std::string_view label, std::string_view signature);

// The signature base (RFC 9421 §2.5): `values[i]` is the value of `input.components[i]`.
// kInvalidArgument when a value holds a character the base cannot (a newline, a control).
Result<std::string> SignatureBase(const SignatureInput& input,
                                  const std::vector<std::string>& values);

// The request parts shiplog's components come from.
struct RequestParts {
  std::string method;  // "GET"
  std::string target;  // the request target as sent: path and query, percent-encoded
  std::string date;    // the Date header
};
// The values of kSignedComponents-style identifiers for `request`: "@method", "@path", "@query"
// (RFC 9421 §2.2: "?" alone when there is no query) and "date". kInvalidArgument naming any
// other component.
Result<std::vector<std::string>> ComponentValues(const std::vector<std::string>& components,
                                                 const RequestParts& request);

// The headers a client adds to sign `request` (which carries its Date) with `key`, at unix time
// `created`, with `nonce`: Signature-Input and Signature.
std::vector<std::pair<std::string, std::string>> SignRequest(const RequestParts& request,
                                                             const SigningKey& key, int64_t created,
                                                             const std::string& nonce);

// `unix_seconds` as an HTTP date (RFC 9110 IMF-fixdate): "Tue, 20 Apr 2021 02:07:55 GMT".
std::string HttpDate(int64_t unix_seconds);
// An IMF-fixdate's unix time; kInvalidArgument for any other form.
Result<int64_t> ParseHttpDate(std::string_view text);

}  // namespace shiplog::adapters
