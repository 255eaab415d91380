#include "ledger/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/event.h"

namespace shiplog {
namespace {

Status WriteExclusive(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::InvalidArgument(path + " already exists; not overwriting it");
    return Status::InvalidArgument("cannot create " + path + ": " + std::strerror(errno));
  }
  // The umask may have widened nothing but could have narrowed the mode; set it exactly.
  ::fchmod(fd, mode);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Status::Internal("writing " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::Internal("writing " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > 64 * 1024) return Status::InvalidArgument(path + " is too large for a key file");
  return text;
}

Result<std::string> DecodePublicHex(std::string_view hex, const std::string& where) {
  auto raw = HexDecode(hex);
  if (!raw.ok() || raw->size() != kPublicKeySize) {
    return Status::InvalidArgument(where + ": expected an Ed25519 public key as 64 hex characters");
  }
  return std::move(raw).value();
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

}  // namespace

Status WriteNewKeyFile(const std::string& path, const SigningKey& key) {
  struct stat st;
  if (::stat((path + ".pub").c_str(), &st) == 0) {
    return Status::InvalidArgument(path + ".pub already exists; not overwriting it");
  }
  nlohmann::json json = {{"type", "ed25519"},
                         {"secret", HexEncode(key.Seed())},
                         {"public", HexEncode(key.PublicKey())}};
  SHIPLOG_RETURN_IF_ERROR(WriteExclusive(path, json.dump(2) + "\n", 0600));
  return WriteExclusive(path + ".pub", HexEncode(key.PublicKey()) + "\n", 0644);
}

Result<SigningKey> ReadKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("key file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::InvalidArgument("key file " + path + " has mode " + mode +
                                   ": group or others can read it; run chmod 600 " + path);
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto parsed = ParseJsonText(text, text.size());  // ReadSmallFile bounds the size
  if (!parsed.ok()) return parsed.status().Prefixed("key file " + path);
  nlohmann::json& json = *parsed;
  if (!json.is_object() || json.value("type", "") != "ed25519" || !json["secret"].is_string()) {
    return Status::InvalidArgument("key file " + path +
                                   " is not a shiplog key (want JSON with type ed25519 and secret)");
  }
  auto seed = HexDecode(json["secret"].get<std::string>());
  if (!seed.ok()) return seed.status().Prefixed("key file " + path + ": secret");
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, SigningKey::FromSeed(*seed));
  if (json.contains("public")) {
    if (!json["public"].is_string() || json["public"].get<std::string>() != HexEncode(key.PublicKey())) {
      return Status::InvalidArgument("key file " + path + ": the public key does not match the secret");
    }
  }
  return key;
}

Result<std::string> ReadPublicKey(const std::string& arg) {
  struct stat st;
  if (::stat(arg.c_str(), &st) != 0) {
    if (arg.size() == 2 * kPublicKeySize) return DecodePublicHex(arg, "public key");
    return Status::NotFound("no public key file " + arg + " (and it is not 64 hex characters)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(arg));
  // Not JSON (or too deep to be a key file): read as bare hex below.
  auto json = ParseJsonText(text, text.size());  // ReadSmallFile bounds the size
  if (json.ok() && json->is_object() && json->contains("public") && (*json)["public"].is_string()) {
    return DecodePublicHex((*json)["public"].get<std::string>(), arg);
  }
  return DecodePublicHex(Trim(text), arg);
}

}  // namespace shiplog
