// shiplog: the deployment audit ledger's command.
#include <kj/exception.h>

#include <iostream>
#include <sstream>

#include "ledger/crypto.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"

int main(int argc, char** argv) {
  using namespace shiplog::cli;
  shiplog::InitCrypto();
  CLI::App app{
      "shiplog: a signed, append-only audit ledger of deployments.\n"
      "Output is JSON on stdout; exit codes: 0 ok, 1 internal error, 2 bad input, "
      "3 denied by policy, 4 verification failed."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "shiplog 0.1.0");
  Context context;
  Action action;
  AddLedgerCommands(app, context, action);
  AddKeyCommands(app, context, action);
  AddEventCommands(app, context, action);
  AddPolicyCommands(app, context, action);
  AddProofCommands(app, context, action);
  AddBundleCommands(app, context, action);
  AddReplayCommands(app, context, action);
  AddTimelineCommands(app, context, action);
  AddDoraCommand(app, context, action);
  AddServeCommands(app, context, action);
  AddExecCommand(app, context, action);
  AddPinCommands(app, context, action);
  AddAttestCommand(app, context, action);
  AddBackupCommands(app, context, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A parse error quotes the argument it rejects, which may hold an ESC or a bidi control.
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    std::cout << shiplog::TerminalText(out.str(), shiplog::Newlines::kKeep);
    std::cerr << shiplog::TerminalText(err.str(), shiplog::Newlines::kKeep);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  try {
    return action ? action() : kExitBadInput;
  } catch (const std::exception& e) {
    // A bug or a broken resource: exceptions do not cross module boundaries on purpose.
    std::cerr << "shiplog: internal error: " << shiplog::TerminalText(e.what()) << "\n";
    return kExitInternal;
  } catch (const kj::Exception& e) {
    std::cerr << "shiplog: internal error: "
              << shiplog::TerminalText(e.getDescription().cStr()) << "\n";
    return kExitInternal;
  }
}
