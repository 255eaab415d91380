#include "adapters/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>

namespace shiplog::adapters {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites with forward secrecy and authenticated encryption only (the "intermediate" set
// of Mozilla's server-side TLS guide); 1.3's suites are all AEAD and keep OpenSSL's default.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reason for the last failure (its error queue), or `fallback`; the queue is emptied so
// a later failure is not blamed on this one.
std::string OpenSslReason(const std::string& fallback) {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    reason = text;  // the last is the most specific
  }
  return reason.empty() ? fallback : reason;
}

Status Unusable(const std::string& option, const std::string& file, const std::string& why) {
  return Status::InvalidArgument(option + " " + file + ": " + why);
}

Status Readable(const std::string& option, const std::string& file) {
  if (file.empty()) return Status::InvalidArgument(option + " is required for TLS");
  if (!std::ifstream(file)) return Unusable(option, file, "cannot read it");
  return Status::Ok();
}

Status SetProtocols(SSL_CTX* ctx) {
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Status::Internal("cannot restrict TLS to 1.2+ with AEAD ciphers: " +
                            OpenSslReason("OpenSSL refused"));
  }
  return Status::Ok();
}

Status LoadIdentity(SSL_CTX* ctx, const TlsFiles& files) {
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return Unusable("--tls-cert", files.cert_file,
                    "not a PEM certificate: " + OpenSslReason("unreadable"));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Unusable("--tls-key", files.key_file,
                    "not a PEM private key: " + OpenSslReason("unreadable"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Unusable("--tls-key", files.key_file,
                    "does not match the certificate in " + files.cert_file);
  }
  return Status::Ok();
}

// mTLS: a client must present a certificate that chains to one of these CAs.
Status RequireClientCertificates(SSL_CTX* ctx, const std::string& ca_file) {
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    return Unusable("--tls-client-ca", ca_file,
                    "no PEM certificate in it: " + OpenSslReason("unreadable"));
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (names) SSL_CTX_set_client_CA_list(ctx, names);  // named to clients in the request
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Resumed sessions carry the verified client; OpenSSL refuses to resume without this.
  static const unsigned char kSessionContext[] = "shiplog";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return Status::Ok();
}

std::string Hex(const unsigned char* data, size_t size, const char* separator) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    if (i > 0) out += separator;
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  SHIPLOG_RETURN_IF_ERROR(Readable("--tls-cert", files.cert_file));
  SHIPLOG_RETURN_IF_ERROR(Readable("--tls-key", files.key_file));
  if (!files.client_ca_file.empty()) {
    SHIPLOG_RETURN_IF_ERROR(Readable("--tls-client-ca", files.client_ca_file));
  }
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SHIPLOG_RETURN_IF_ERROR(SetProtocols(ctx));
  SHIPLOG_RETURN_IF_ERROR(LoadIdentity(ctx, files));
  if (!files.client_ca_file.empty()) {
    SHIPLOG_RETURN_IF_ERROR(RequireClientCertificates(ctx, files.client_ca_file));
  }
  return context;
}

Status TlsContextHolder::Reload() {
  SHIPLOG_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> fresh, MakeServerTlsContext(files_));
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(fresh);
  return Status::Ok();
}

std::shared_ptr<ssl::context> TlsContextHolder::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::string DescribeCertificate(const ssl::context& context) {
  X509* cert = SSL_CTX_get0_certificate(const_cast<ssl::context&>(context).native_handle());
  if (!cert) return "no certificate";
  char subject[256] = "";
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  X509_digest(cert, EVP_sha256(), digest, &digest_size);
  return std::string("subject ") + subject + ", serial " +
         Hex(serial->data, static_cast<size_t>(serial->length), "") + ", SHA-256 " +
         Hex(digest, digest_size, ":");
}

}  // namespace shiplog::adapters
