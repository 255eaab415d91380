// shiplog keygen | enroll | revoke
#include "ledger/key_file.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

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
}

}  // namespace shiplog::cli
