// The check GitHub's webhook deliveries carry: `X-Hub-Signature-256: sha256=<hex>`, the
// HMAC-SHA256 of the raw body under the webhook's secret. Checked before anything in a delivery
// is read, so a forged delivery costs one HMAC and records nothing.
#pragma once

#include <string>
#include <string_view>

namespace shiplog::adapters::github {

// HMAC-SHA256 of `message` under `key`, as 64 lower-case hex characters.
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// True when `header` is "sha256=" followed by the hex HMAC-SHA256 of `body` under `secret`.
// The comparison takes the same time wherever the first difference is (CRYPTO_memcmp), so a
// caller cannot learn the signature a byte at a time. Hex digits may be either case.
bool WebhookSignatureMatches(std::string_view secret, std::string_view body,
                             std::string_view header);

}  // namespace shiplog::adapters::github
