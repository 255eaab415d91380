// TLS for `shiplog serve`: the server's OpenSSL context, built from PEM files, and swapped for a
// new one on reload (SIGHUP) while the connections already open keep the one they began with.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "ledger/status.h"

namespace shiplog::adapters {

// The files `serve --tls-cert/--tls-key/--tls-client-ca` name.
struct TlsFiles {
  std::string cert_file;       // PEM: the server's certificate, then any intermediates
  std::string key_file;        // PEM: its private key
  std::string client_ca_file;  // PEM: CAs whose client certificates are required; "" = none asked

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// A server context: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers for 1.2 (1.3 has no others),
// no renegotiation or compression; with a client CA, a client certificate issued by it is
// required. kInvalidArgument naming the file and OpenSSL's reason when a file is missing or
// unusable, or the key does not match the certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

// The context new connections get. Each connection holds on to the one it was handed, so a
// reload never touches a connection already open.
class TlsContextHolder {
 public:
  explicit TlsContextHolder(TlsFiles files) : files_(std::move(files)) {}

  // Reads the files (again) into a new context and makes it current; on failure the current
  // context stays and the error says why.
  Status Reload();
  // Null before the first Reload() succeeded.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  const TlsFiles& files() const { return files_; }

 private:
  const TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // GUARDED_BY(mu_)
};

// The context's own certificate for the log: its subject, serial and SHA-256 fingerprint, so an
// operator sees which certificate a reload put in place.
std::string DescribeCertificate(const boost::asio::ssl::context& context);

}  // namespace shiplog::adapters
