#include "ledger/dsse.h"

#include "ledger/event.h"

namespace shiplog::dsse {
namespace {

using nlohmann::json;

Result<std::string> TextField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end())
    return Status::InvalidArgument(std::string("the envelope has no \"") + name + "\"");
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("the envelope's \"") + name + "\" must be a string");
  }
  return it->get<std::string>();
}

Result<Signature> SignatureFromJson(const json& j, size_t index) {
  const std::string where = "signatures[" + std::to_string(index) + "]";
  if (!j.is_object()) return Status::InvalidArgument(where + " must be an object");
  Signature out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "keyid") {
      if (!it->is_string()) return Status::InvalidArgument(where + ".keyid must be a string");
      out.keyid = it->get<std::string>();
    } else if (it.key() == "sig") {
      if (!it->is_string()) return Status::InvalidArgument(where + ".sig must be a string");
      auto sig = DecodeBase64(it->get_ref<const std::string&>());
      if (!sig.ok()) return sig.status().Prefixed(where + ".sig");
      out.sig = std::move(sig).value();
    } else {
      return Status::InvalidArgument(where + " has an unknown field \"" + it.key() +
                                     "\" (a DSSE signature has keyid and sig)");
    }
  }
  if (!j.contains("sig")) return Status::InvalidArgument(where + " has no \"sig\"");
  return out;
}

}  // namespace

std::string Pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  for (Base64Form form :
       {Base64Form::kStandard, Base64Form::kUrlSafe, Base64Form::kUrlSafeUnpadded}) {
    if (auto bytes = Base64Decode(text, form); bytes.ok()) return bytes;
  }
  return Status::InvalidArgument(
      "not canonical base64 (the standard alphabet with padding, or the URL-safe alphabet, with "
      "no whitespace and no bits set past the data)");
}

bool LooksLikeEnvelope(const json& j) {
  return j.is_object() && j.contains("payloadType") && j.contains("payload");
}

Result<Envelope> Envelope::Parse(std::string_view json_text) {
  SHIPLOG_ASSIGN_OR_RETURN(json j, ParseJsonText(json_text));
  return FromJson(j);
}

Result<Envelope> Envelope::FromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a DSSE envelope must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "payload" && it.key() != "payloadType" && it.key() != "signatures") {
      return Status::InvalidArgument("the envelope has an unknown field \"" + it.key() +
                                     "\" (DSSE has payload, payloadType and signatures)");
    }
  }
  Envelope out;
  SHIPLOG_ASSIGN_OR_RETURN(out.payload_type, TextField(j, "payloadType"));
  SHIPLOG_ASSIGN_OR_RETURN(std::string payload, TextField(j, "payload"));
  auto decoded = DecodeBase64(payload);
  if (!decoded.ok()) return decoded.status().Prefixed("the envelope's payload");
  out.payload = std::move(decoded).value();
  auto signatures = j.find("signatures");
  if (signatures == j.end() || !signatures->is_array() || signatures->empty()) {
    return Status::InvalidArgument("the envelope needs \"signatures\": a non-empty list");
  }
  for (size_t i = 0; i < signatures->size(); ++i) {
    SHIPLOG_ASSIGN_OR_RETURN(Signature s, SignatureFromJson((*signatures)[i], i));
    out.signatures.push_back(std::move(s));
  }
  return out;
}

json Envelope::ToJson() const {
  json sigs = json::array();
  for (const Signature& s : signatures) {
    json one = {{"sig", Base64Encode(s.sig)}};
    if (!s.keyid.empty()) one["keyid"] = s.keyid;
    sigs.push_back(std::move(one));
  }
  return {{"payload", Base64Encode(payload)}, {"payloadType", payload_type}, {"signatures", sigs}};
}

std::string KeyId(std::string_view public_key) { return HexEncode(AsBytes(Sha256(public_key))); }

Envelope Sign(std::string payload_type, std::string payload, const SigningKey& key) {
  Envelope out;
  out.payload_type = std::move(payload_type);
  out.payload = std::move(payload);
  out.signatures.push_back({KeyId(key.PublicKey()), key.Sign(out.Pae())});
  return out;
}

Status Verify(const Envelope& envelope, std::string_view public_key) {
  const std::string keyid = KeyId(public_key);
  for (const Signature& s : envelope.signatures) {
    if (s.keyid != keyid) continue;
    if (s.sig.size() != kSignatureSize) {
      return Status::InvalidArgument("the signature by keyid " + keyid + " is " +
                                     std::to_string(s.sig.size()) +
                                     " bytes, not an Ed25519 signature (64 bytes): shiplog "
                                     "takes Ed25519 signatures only");
    }
    if (!VerifySignature(public_key, envelope.Pae(), s.sig)) {
      return Status::InvalidArgument("the signature by keyid " + keyid +
                                     " does not verify over the envelope's PAE(payloadType, "
                                     "payload)");
    }
    return Status::Ok();
  }
  return Status::InvalidArgument("the envelope has no signature with keyid " + keyid);
}

}  // namespace shiplog::dsse
