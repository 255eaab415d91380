#include "ledger/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "ledger/event.h"

namespace shiplog {
namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014, then a space
constexpr size_t kMaxNoteBytes = 64 * 1024;
constexpr std::string_view kTimePrefix = "time ";
constexpr std::string_view kManualClockLine = "manual-clock";

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

Result<uint64_t> ParseSize(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return Status::InvalidArgument("checkpoint: the tree size '" + std::string(text) +
                                   "' is not a decimal number without leading zeros");
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > (UINT64_MAX - (c - '0')) / 10) {
      return Status::InvalidArgument("checkpoint: the tree size '" + std::string(text) +
                                     "' is not a decimal number");
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

// The note text parsed into a head: origin, size, root, then shiplog's extension lines.
Result<TreeHead> ParseText(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  if (lines.size() < 3) {
    return Status::InvalidArgument("checkpoint: the note needs an origin, a size and a root hash");
  }
  TreeHead head;
  head.origin = std::string(lines[0]);
  SHIPLOG_RETURN_IF_ERROR(CheckOrigin(head.origin));
  SHIPLOG_ASSIGN_OR_RETURN(head.size, ParseSize(lines[1]));
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != kSha256Size) {
    return Status::InvalidArgument("checkpoint: the root hash is not 32 bytes of base64");
  }
  std::memcpy(head.root.data(), root->data(), kSha256Size);
  bool have_time = false;
  for (size_t i = 3; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) return Status::InvalidArgument("checkpoint: an empty line in the note text");
    if (line.substr(0, kTimePrefix.size()) == kTimePrefix && !have_time) {
      auto time = ParseTime(std::string(line.substr(kTimePrefix.size())));
      if (!time.ok()) return time.status().Prefixed("checkpoint time");
      head.time = *time;
      have_time = true;
    } else if (line == kManualClockLine) {
      head.manual_clock = true;
    }
    // Other extension lines are opaque, as the spec says.
  }
  if (!have_time) return Status::InvalidArgument("checkpoint: no 'time' line");
  return head;
}

}  // namespace

uint32_t NoteKeyId(std::string_view key_name, std::string_view public_key, uint8_t type) {
  std::string input(key_name);
  input += '\n';
  input += static_cast<char>(type);
  input += public_key;
  // A thread opening many checkpoints asks for one key's id each time (verify: every record's).
  thread_local std::string last_input;
  thread_local uint32_t last_id = 0;
  if (input == last_input) return last_id;
  Sha256Digest digest = Sha256(input);
  last_id = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
            (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  last_input = std::move(input);
  return last_id;
}

std::string NoteVerifierKey(std::string_view name, std::string_view public_key) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", NoteKeyId(name, public_key));
  std::string typed(1, static_cast<char>(kNoteEd25519));
  typed += public_key;
  return std::string(name) + "+" + id + "+" + Base64Encode(typed);
}

Status CheckOrigin(std::string_view origin) {
  if (origin.empty()) return Status::InvalidArgument("checkpoint: the origin is empty");
  for (unsigned char c : origin) {
    if (c <= 0x20 || c == '+' || c == 0x7f) {
      return Status::InvalidArgument("checkpoint: the origin '" + std::string(origin) +
                                     "' has a space, '+' or control character");
    }
  }
  return Status::Ok();
}

std::string CheckpointText(const TreeHead& head) {
  std::string text = head.origin + "\n" + std::to_string(head.size) + "\n" +
                     Base64Encode(AsBytes(head.root)) + "\n" + std::string(kTimePrefix) +
                     FormatTime(head.time) + "\n";
  if (head.manual_clock) text += std::string(kManualClockLine) + "\n";
  return text;
}

Checkpoint Checkpoint::Sign(const TreeHead& head, const SigningKey& key) {
  std::string text = CheckpointText(head);
  std::string note =
      text + "\n" +
      FormatNoteSignatureLine(head.origin, NoteKeyId(head.origin, key.PublicKey()), key.Sign(text));
  return Checkpoint{head, std::move(note)};
}

std::string FormatNoteSignatureLine(std::string_view name, uint32_t key_id,
                                    std::string_view signature) {
  std::string blob = {static_cast<char>(key_id >> 24), static_cast<char>(key_id >> 16),
                      static_cast<char>(key_id >> 8), static_cast<char>(key_id)};
  blob += signature;
  return std::string(kEmDashSpace) + std::string(name) + " " + Base64Encode(blob) + "\n";
}

Result<NoteSignature> ParseNoteSignatureLine(std::string_view line) {
  NoteSignature out;
  out.line = std::string(line) + "\n";
  if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
    return Status::InvalidArgument("checkpoint: a signature line does not start with an em dash");
  }
  line.remove_prefix(kEmDashSpace.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0) {
    return Status::InvalidArgument("checkpoint: a signature line has no key name");
  }
  out.name = std::string(line.substr(0, space));
  auto blob = Base64Decode(line.substr(space + 1));
  if (!blob.ok() || blob->size() < 4) {
    return Status::InvalidArgument("checkpoint: a signature is not base64 of a key id and bytes");
  }
  const auto* b = reinterpret_cast<const uint8_t*>(blob->data());
  out.key_id = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  out.signature = blob->substr(4);
  return out;
}

Result<SignedNote> SignedNote::Parse(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return Status::InvalidArgument("checkpoint: the note is too large");
  for (unsigned char c : note) {
    if (c < 0x20 && c != '\n') {
      return Status::InvalidArgument("checkpoint: the note holds a control character");
    }
  }
  if (note.empty() || note.back() != '\n') {
    return Status::InvalidArgument("checkpoint: the note does not end with a newline");
  }
  // The text ends at the last blank line; signature lines follow it.
  size_t split = note.rfind("\n\n", note.size() - 2);
  if (split == std::string_view::npos) {
    return Status::InvalidArgument("checkpoint: the note has no blank line before its signatures");
  }
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  for (std::string_view line : SplitLines(note.substr(split + 2))) {
    SHIPLOG_ASSIGN_OR_RETURN(NoteSignature signature, ParseNoteSignatureLine(line));
    out.signatures.push_back(std::move(signature));
  }
  return out;
}

namespace {

// Open() with `verify` deciding whether a signature line by the ledger key holds.
Result<Checkpoint> OpenVerified(
    std::string_view note, std::string_view ledger_public_key,
    const std::function<bool(std::string_view text, std::string_view signature)>& verify) {
  SHIPLOG_ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  SHIPLOG_ASSIGN_OR_RETURN(TreeHead head, ParseText(parsed.text));
  const uint32_t want_id = NoteKeyId(head.origin, ledger_public_key);
  bool verified = false;
  for (const NoteSignature& signature : parsed.signatures) {
    if (signature.name != head.origin || signature.key_id != want_id) continue;  // another key's
    if (signature.signature.size() != kSignatureSize ||
        !verify(parsed.text, signature.signature)) {
      return Status::BadSignature("checkpoint at size " + std::to_string(head.size) +
                                  ": the ledger's signature does not verify");
    }
    verified = true;
  }
  if (!verified) {
    return Status::BadSignature("checkpoint at size " + std::to_string(head.size) +
                                ": no signature by the ledger key " +
                                HexEncode(ledger_public_key).substr(0, 16) + "... under '" +
                                head.origin + "'");
  }
  return Checkpoint{std::move(head), std::string(note)};
}

}  // namespace

Result<Checkpoint> Checkpoint::Open(std::string_view note, std::string_view ledger_public_key) {
  return OpenVerified(note, ledger_public_key,
                      [&](std::string_view text, std::string_view signature) {
                        return VerifySignature(ledger_public_key, text, signature);
                      });
}

Result<Checkpoint> Checkpoint::OpenOwn(std::string_view note, const SigningKey& ledger_key) {
  // A signature the key itself made is checked without verifying it (SigningKey::IsOwnSignature;
  // a verify per stored checkpoint was a quarter of `shiplog verify` on a ledger written one
  // event per commit); any other is verified, so every answer is Open()'s.
  const std::string public_key = ledger_key.PublicKey();
  return OpenVerified(note, public_key, [&](std::string_view text, std::string_view signature) {
    return ledger_key.IsOwnSignature(text, signature) ||
           VerifySignature(public_key, text, signature);
  });
}

nlohmann::json Checkpoint::ToJson() const {
  return {{"origin", head.origin},
          {"size", head.size},
          {"root_hash", HexEncode(AsBytes(head.root))},
          {"time", FormatTime(head.time)},
          {"manual_clock", head.manual_clock},
          {"checkpoint", note}};
}

Result<Checkpoint> Checkpoint::FromText(std::string_view text, std::string_view ledger_public_key) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos && text[start] == '{') {
    auto parsed = ParseJsonText(text, text.size());  // callers bound the size
    if (!parsed.ok()) return parsed.status().Prefixed("checkpoint");
    nlohmann::json& json = *parsed;
    if (!json.is_object() || !json.contains("checkpoint") || !json["checkpoint"].is_string()) {
      return Status::InvalidArgument(
          "a checkpoint is its note text, or JSON with a \"checkpoint\" string");
    }
    return Open(json["checkpoint"].get<std::string>(), ledger_public_key);
  }
  return Open(text, ledger_public_key);
}

}  // namespace shiplog
