// shiplog keygen | enroll | revoke | key show
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <iostream>
#include <memory>

#include "ledger/checkpoint.h"
#include "ledger/dsse.h"
#include "ledger/key_file.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

// An Ed25519 public key as PEM: the PKIX SubjectPublicKeyInfo that cosign, Kyverno and
// policy-controller take as a key.
Result<std::string> PublicKeyPem(std::string_view public_key) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(public_key.data()),
                                  public_key.size()),
      &EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return Status::Internal("OpenSSL could not write the key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

struct KeyShowArgs {
  std::string dir;
  std::string key;
  std::string name;  // the note key name of an agent's key
  bool pem = false;
  bool note_verifier = false;
  bool keyid = false;
  bool json = false;
};

// The key and its note name: the ledger's (named by its origin) or the one --key names.
Result<std::pair<std::string, std::string>> KeyToShow(const KeyShowArgs& args, Context& context) {
  if (args.dir.empty() == args.key.empty()) {
    return Status::InvalidArgument("name one key: --data DIR (the ledger's) or --key FILE.pub");
  }
  if (!args.key.empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(std::string key, ReadPublicKey(args.key));
    return std::make_pair(key, args.name);
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, Ledger::OpenReadOnly(args.dir, &context.clock));
  return std::make_pair(ledger->public_key(), ledger->origin());
}

int RunKeyShow(const KeyShowArgs& args, Context& context) {
  if (args.pem + args.note_verifier + args.keyid + args.json > 1) {
    return Fail(Status::InvalidArgument("--pem, --note-verifier, --keyid and --json are one each"));
  }
  auto key = KeyToShow(args, context);
  if (!key.ok()) return Fail(key.status());
  const auto& [public_key, name] = *key;
  auto pem = PublicKeyPem(public_key);
  if (!pem.ok()) return Fail(pem.status());
  const std::string note = name.empty() ? "" : NoteVerifierKey(name, public_key);
  if (args.pem) {
    std::cout << *pem;
  } else if (args.keyid) {
    std::cout << dsse::KeyId(public_key) << "\n";
  } else if (args.note_verifier) {
    if (note.empty()) return Fail(Status::InvalidArgument("a note verifier key needs --name"));
    std::cout << note << "\n";
  } else if (args.json) {
    PrintJson({{"public_key", HexEncode(public_key)},
               {"keyid", dsse::KeyId(public_key)},
               {"note_verifier_key", note},
               {"pem", *pem}});
  } else {
    std::cout << "public key (hex):   " << HexEncode(public_key) << "\n"
              << "DSSE keyid:         " << dsse::KeyId(public_key) << "\n"
              << "note verifier key:  " << (note.empty() ? "(give --name)" : note) << "\n"
              << "PEM (PKIX SubjectPublicKeyInfo):\n"
              << *pem;
  }
  return kExitOk;
}

void AddKeyShow(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<KeyShowArgs>();
  auto* key = app.add_subcommand("key", "Show a public key in the forms other tools take");
  key->require_subcommand(1);
  auto* show = key->add_subcommand(
      "show", "A public key as hex, DSSE keyid, C2SP note verifier key and PEM (all by default)");
  show->add_option("--data", args->dir, "The ledger's directory: show the ledger's key");
  show->add_option("--key", args->key, "An agent's key: a .pub file, a key file or 64 hex");
  show->add_option("--name", args->name, "The note key name for --key (the ledger's: its origin)");
  show->add_flag("--pem", args->pem, "Only the PEM (PKIX SubjectPublicKeyInfo)");
  show->add_flag("--note-verifier", args->note_verifier,
                 "Only the signed-note verifier key <name>+<key id>+<base64(0x01 || key)>");
  show->add_flag("--keyid", args->keyid, "Only the DSSE keyid (hex SHA-256 of the key)");
  show->add_flag("--json", args->json, "Every form as one JSON object");
  show->callback([&action, &context, args] {
    action = [&context, args] { return RunKeyShow(*args, context); };
  });
}

int RunKeygen(const std::string& out) {
  SigningKey key = SigningKey::Generate();
  Status status = WriteNewKeyFile(out, key);
  if (!status.ok()) return Fail(status);
  PrintJson({{"public_key", HexEncode(key.PublicKey())},
             {"key_file", out},
             {"public_key_file", out + ".pub"}});
  return kExitOk;
}

struct AdminArgs {
  std::string dir;
  std::string admin_key;
  std::string name;
  std::vector<std::string> roles;
  std::string public_key;
  std::string reason;
};

int AppendAsAdmin(const AdminArgs& args, Context& context, nlohmann::json event) {
  return AppendSignedBy(args.dir, args.admin_key, context, std::move(event));
}

int RunEnroll(const AdminArgs& args, Context& context) {
  auto public_key = ReadPublicKey(args.public_key);
  if (!public_key.ok()) return Fail(public_key.status());
  return AppendAsAdmin(args, context,
                       {{"kind", "key.enrolled"},
                        {"name", args.name},
                        {"public_key", HexEncode(*public_key)},
                        {"roles", args.roles}});
}

int RunRevoke(const AdminArgs& args, Context& context) {
  auto public_key = ReadPublicKey(args.public_key);
  if (!public_key.ok()) return Fail(public_key.status());
  nlohmann::json event = {{"kind", "key.revoked"}, {"public_key", HexEncode(*public_key)}};
  if (!args.reason.empty()) event["reason"] = args.reason;
  return AppendAsAdmin(args, context, event);
}

void AddAdminOptions(CLI::App* command, AdminArgs& args) {
  AddDataOption(command, args.dir);
  command->add_option("--admin-key", args.admin_key, "The admin's key file (signs the event)")
      ->required();
  command->add_option("--public-key", args.public_key,
                      "The agent's public key: a .pub file, a key file, or 64 hex characters")
      ->required();
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& context, Action& action) {
  auto out = std::make_shared<std::string>();
  auto* keygen = app.add_subcommand("keygen", "Make a new Ed25519 key pair: FILE (0600) and FILE.pub");
  keygen->add_option("--out", *out, "Where to write the key")->required();
  keygen->callback([&action, out] { action = [out] { return RunKeygen(*out); }; });

  auto enroll_args = std::make_shared<AdminArgs>();
  auto* enroll = app.add_subcommand(
      "enroll", "Enrol an agent's key under a name with roles (an admin-signed key.enrolled event)");
  AddAdminOptions(enroll, *enroll_args);
  enroll->add_option("--name", enroll_args->name, "The agent's name; its events' actor")->required();
  enroll->add_option("--roles", enroll_args->roles, "Its roles, comma-separated")
      ->required()
      ->delimiter(',');
  enroll->callback([&action, &context, enroll_args] {
    action = [&context, enroll_args] { return RunEnroll(*enroll_args, context); };
  });

  auto revoke_args = std::make_shared<AdminArgs>();
  auto* revoke = app.add_subcommand(
      "revoke", "Revoke a key: it signs nothing valid from now on; its earlier events stay valid");
  AddAdminOptions(revoke, *revoke_args);
  revoke->add_option("--reason", revoke_args->reason, "Why, for the auditors");
  revoke->callback([&action, &context, revoke_args] {
    action = [&context, revoke_args] { return RunRevoke(*revoke_args, context); };
  });
  AddKeyShow(app, context, action);
}

}  // namespace shiplog::cli
