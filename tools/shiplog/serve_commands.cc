// shiplog serve: the network service (adapters/server.h); shiplog submit: its client for one
// signed event, with the exit codes of `shiplog append`.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "adapters/github/github.h"
#include "adapters/http.h"
#include "adapters/http_client.h"
#include "adapters/integration.h"
#include "adapters/server.h"
#include "ledger/cosignature.h"
#include "ledger/dsse.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "replay/attestation.h"
#include "replay/progress.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/server_client.h"

namespace shiplog::cli {
namespace {

struct ServeArgs {
  std::string dir;
  adapters::ServerOptions options;
  unsigned request_timeout_ms = 15000;
  unsigned idle_timeout_ms = 60000;
  unsigned read_clock_skew_s = 300;
  std::string integration_key;
  adapters::github::GitHubOptions github;
  unsigned github_retry_first_ms = 1000;
  unsigned github_retry_max_ms = 5 * 60 * 1000;
  std::vector<std::string> witness_keys;
};

// GitHub's deployment protection rule: built whatever was given (the route names what is
// missing), refused at start when a file given cannot be used.
Status SetUpGitHub(ServeArgs& args) {
  args.github.retry.first_retry =
      std::chrono::milliseconds(std::max(1u, args.github_retry_first_ms));
  args.github.retry.max_retry =
      std::chrono::milliseconds(std::max(args.github_retry_first_ms, args.github_retry_max_ms));
  args.github.retry.max_attempts = std::max(1, args.github.retry.max_attempts);
  auto github = adapters::github::GitHub::Create(args.github);
  if (!github.ok()) return github.status();
  args.options.github = std::move(github).value();
  return Status::Ok();
}

// What the operator must know about each listener, said once at start.
void LogListeners(const ServeArgs& args, const adapters::Server& server, size_t records) {
  const auto host = [](const std::string& where) { return where.substr(0, where.rfind(':')); };
  if (!args.options.listen.empty()) {
    spdlog::info("listening on https://{}:{} (TLS 1.2/1.3; certificate {}){}",
                 host(args.options.listen), server.port(), server.TlsCertificate(),
                 args.options.tls.client_ca_file.empty()
                     ? ""
                     : "; client certificates from " + args.options.tls.client_ca_file +
                           " required");
  }
  if (!args.options.insecure_listen.empty()) {
    spdlog::warn(
        "listening on http://{}:{}: plain HTTP, UNENCRYPTED and UNAUTHENTICATED at the transport "
        "(--insecure-listen); anyone who reaches this port reads what the ledger holds",
        host(args.options.insecure_listen), server.insecure_port());
  }
  spdlog::info("the ledger in {} holds {} records", args.dir, records);
}

// SIGHUP: new connections get the certificate read afresh; a reload that fails keeps the old.
void ReloadCertificate(adapters::Server& server) {
  Status reloaded = server.ReloadTls();
  if (reloaded.ok()) {
    spdlog::info("SIGHUP: reloaded the TLS certificate for new connections: {}",
                 server.TlsCertificate());
  } else {
    spdlog::error("SIGHUP: TLS reload failed, still serving the previous certificate: {}",
                  reloaded.message());
  }
}

int RunServe(ServeArgs& args, Context& context) {
  // SIGTERM, SIGINT and SIGHUP are taken by one thread with sigwait(), so every other thread
  // (I/O, pool, sequencer, RocksDB's) must start with them blocked.
  sigset_t signals_taken;
  sigemptyset(&signals_taken);
  sigaddset(&signals_taken, SIGTERM);
  sigaddset(&signals_taken, SIGINT);
  sigaddset(&signals_taken, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals_taken, nullptr);

  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/true);
  if (!ledger.ok()) return Fail(ledger.status());
  if (!args.integration_key.empty()) {
    auto signer = adapters::LoadIntegrationSigner(args.integration_key, **ledger);
    if (!signer.ok()) return Fail(signer.status());
    args.options.integration = std::move(signer).value();
  }
  auto ledger_key = replay::ReadLedgerKey(args.dir);
  if (!ledger_key.ok()) return Fail(ledger_key.status());
  args.options.ledger_key = std::make_shared<const SigningKey>(std::move(ledger_key).value());
  Status github = SetUpGitHub(args);
  if (!github.ok()) return Fail(github);
  auto witnesses = ParseWitnessKeys(args.witness_keys);
  if (!witnesses.ok()) return Fail(witnesses.status());
  args.options.witness_keys = std::move(witnesses).value();
  args.options.data_dir = args.dir;
  args.options.request_timeout = std::chrono::milliseconds(args.request_timeout_ms);
  args.options.read_clock_skew = std::chrono::seconds(args.read_clock_skew_s);
  args.options.idle_timeout = std::chrono::milliseconds(args.idle_timeout_ms);
  adapters::Server server(**ledger, &context.gate, args.options);
  Status listening = server.Listen();
  if (!listening.ok()) return Fail(listening);
  LogListeners(args, server, (*ledger)->size());

  // Appends wait until every record has been verified: none goes on top of a damaged log.
  int exit_code = kExitOk;
  std::thread verifier([&] {
    auto report = (*ledger)->Verify();
    if (report.ok() && report->ok) {
      spdlog::info("verified {} records; ready", report->records);
      server.SetReady();
      return;
    }
    spdlog::error("the ledger does not verify: {}; stopping",
                  report.ok() ? report->problem : report.status().ToString());
    exit_code = report.ok() ? kExitVerifyFailed : ExitCodeFor(report.status());
    server.Stop();
  });
  std::atomic<bool> finished{false};
  std::thread signals([&] {
    int signal = 0;
    while (sigwait(&signals_taken, &signal) == 0 && !finished) {
      if (signal == SIGHUP) {
        ReloadCertificate(server);
        continue;
      }
      spdlog::info("{} received", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      server.Stop();
      return;
    }
  });
  server.Run();
  verifier.join();
  // The signal thread may still wait: wake it with a signal it takes.
  finished = true;
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  spdlog::info("stopped; every answered event is on disk");
  // The server's copy goes with it: the review poster stops here, not at exit.
  args.options.github.reset();
  return exit_code;
}

struct SubmitArgs {
  ServerTarget server;
  std::string key;
  std::string deployment;
  std::string input = "-";
  bool check = false;
};

// A DSSE envelope goes to the server as the bytes it was read as: the ledger keeps them.
int SubmitEnvelope(const ServerEndpoint& url, std::string text, const std::string& deployment) {
  std::string target = "/v1/events";
  if (!deployment.empty()) target += "?deployment=" + adapters::PercentEncode(deployment);
  auto reply = PostToServer(url, target, adapters::kDsseEnvelope, std::move(text),
                            adapters::HttpCall().timeout);
  if (!reply.ok()) return Fail(reply.status());
  return PrintServerAnswer(*reply);
}

int RunSubmit(const SubmitArgs& args) {
  auto url = ResolveServer(args.server);
  if (!url.ok()) return Fail(url.status());
  auto text = ReadInput(args.input, kMaxEventBytes * 2);
  if (!text.ok()) return Fail(text.status());
  auto json = ParseJsonText(*text, kMaxEventBytes * 2);
  if (!json.ok()) return Fail(json.status().Prefixed(args.input == "-" ? "stdin" : args.input));
  if (dsse::LooksLikeEnvelope(*json)) {
    if (!args.key.empty()) return Fail(Status::InvalidArgument("the input is already signed; drop --key"));
    return SubmitEnvelope(*url, std::move(text).value(), args.deployment);
  }
  if (!args.deployment.empty()) {
    return Fail(Status::InvalidArgument(
        "--deployment names the deployment of an in-toto statement in a DSSE envelope; a shiplog "
        "event names its own"));
  }
  nlohmann::json envelope = *json;
  if (!SignedEvent::LooksLikeEnvelope(*json)) {
    if (args.key.empty()) {
      return Fail(Status::InvalidArgument(
          "the event is not signed: give --key FILE to sign it (its actor must be set)"));
    }
    auto key = ReadKeyFile(args.key);
    if (!key.ok()) return Fail(key.status());
    auto signed_event = SignedEvent::SignJson(*json, *key);
    if (!signed_event.ok()) return Fail(signed_event.status());
    envelope = signed_event->ToJson();
  } else if (!args.key.empty()) {
    return Fail(Status::InvalidArgument("the input is already signed; drop --key"));
  }
  auto reply = PostSignedEvent(*url, envelope, adapters::HttpCall().timeout);
  if (!reply.ok()) return Fail(reply.status());
  return PrintServerAnswer(*reply);
}

void AddListenOptions(CLI::App* serve, adapters::ServerOptions& options) {
  serve->add_option("--listen", options.listen,
                    "HOST:PORT to serve HTTPS on (e.g. 0.0.0.0:7478); needs --tls-cert and "
                    "--tls-key");
  serve->add_option("--insecure-listen", options.insecure_listen,
                    "HOST:PORT to serve plain HTTP on, unencrypted and unauthenticated at the "
                    "transport (e.g. 127.0.0.1:7478 for a local sidecar); with --listen too, both "
                    "are served");
  serve->add_option("--tls-cert", options.tls.cert_file,
                    "PEM file of the server's certificate, followed by any intermediates");
  serve->add_option("--tls-key", options.tls.key_file, "PEM file of the certificate's private key");
  serve->add_option("--tls-client-ca", options.tls.client_ca_file,
                    "PEM file of the CAs whose client certificates are required (mutual TLS); "
                    "a client without one is refused at the handshake");
}

void AddGitHubOptions(CLI::App* serve, ServeArgs& args) {
  adapters::github::GitHubOptions& github = args.github;
  serve->add_option("--github-webhook-secret", github.webhook_secret_file,
                    "File holding the GitHub App's webhook secret: deliveries to "
                    "/v1/github/deployment-protection-rule must carry its X-Hub-Signature-256");
  serve->add_option("--github-app-id", github.app_id,
                    "The GitHub App's ID (or client ID): the iss of its JWT");
  serve->add_option("--github-app-key", github.app_key_file,
                    "The GitHub App's private key (the .pem GitHub generates): signs the App JWT "
                    "(RS256) that mints installation tokens");
  serve->add_option("--github-api", github.api,
                    "GitHub's API base URL (GitHub Enterprise Server: https://HOST/api/v3); "
                    "deployment_callback_url must start with it")
      ->capture_default_str();
  serve->add_option("--github-ca", github.ca_file,
                    "PEM file of the CAs to trust for --github-api instead of the system's");
  serve->add_option("--public-url", github.public_url,
                    "Where people reach this server (https://shiplog.example.com): GitHub reviews "
                    "link the deployment's timeline under it");
  serve->add_option("--github-retry-first-ms", args.github_retry_first_ms,
                    "Pause before the first retry of a review GitHub did not take (network, 5xx, "
                    "429); it doubles with each attempt")
      ->capture_default_str();
  serve->add_option("--github-retry-max-ms", args.github_retry_max_ms,
                    "Longest pause between two attempts at a review")
      ->capture_default_str();
  serve->add_option("--github-retry-attempts", github.retry.max_attempts,
                    "Attempts at a review before it is given up (logged at error level; redeliver "
                    "the webhook to post the recorded decision again)")
      ->capture_default_str();
}

}  // namespace

int PrintServerAnswer(const ServerAnswer& reply) {
  if (reply.status == 200) {
    std::cout << reply.text;
    return kExitOk;
  }
  if (auto message = reply.ErrorMessage()) {
    std::cerr << "shiplog: " << TerminalText(*message) << " (HTTP " << reply.status << ")\n";
    return reply.status >= 500 ? kExitInternal : kExitBadInput;
  }
  if (reply.status == 403) {  // a denial: the decision, as `append` prints it
    std::cout << reply.text;
    std::cerr << "shiplog: denied by policy\n";
    return kExitDenied;
  }
  std::cerr << "shiplog: unexpected answer (HTTP " << reply.status
            << "): " << TerminalText(reply.text) << "\n";
  return kExitInternal;
}

void AddServeCommands(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "Serve the ledger over HTTP (JSON, or Cap'n Proto bodies on request): submit signed events,\n"
      "check intents, read state, timelines, replays, queries, checkpoints and proofs; /healthz,\n"
      "/readyz, /metrics. Endpoints: adapters/openapi.yaml. Appends are taken once every record\n"
      "has verified. SIGTERM stops accepting, answers what is in flight and exits 0; SIGHUP\n"
      "reloads the TLS certificate for new connections.");
  AddDataOption(serve, args->dir);
  AddListenOptions(serve, args->options);
  serve->add_option("--verify-threads", args->options.verify_threads,
                    "Threads checking signatures")
      ->capture_default_str();
  serve->add_option("--io-threads", args->options.io_threads, "Threads serving connections")
      ->capture_default_str();
  serve->add_option("--max-body", args->options.max_body_bytes, "Largest request body, in bytes")
      ->capture_default_str();
  serve
      ->add_option("--max-connections", args->options.max_connections,
                   "Connections open at once; when full, the longest-idle one is closed to make "
                   "room, or a new one is answered 503 when none is idle")
      ->capture_default_str();
  serve
      ->add_option("--max-connections-per-address", args->options.max_connections_per_address,
                   "Connections open at once from one client address; more are answered 503")
      ->capture_default_str();
  serve
      ->add_option("--read-threads", args->options.read_threads,
                   "Threads for heavy reads (timelines, replays, queries), off the I/O threads")
      ->capture_default_str();
  serve
      ->add_option("--max-queued-reads", args->options.max_queued_reads,
                   "Heavy reads running or waiting at once; more are answered 503 with Retry-After")
      ->capture_default_str();
  serve
      ->add_option("--read-clock-skew", args->read_clock_skew_s,
                   "Seconds a signed read's created time and Date may be from the server's clock "
                   "(its nonce is remembered that long); the reads: section of the policy says "
                   "who may read what")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  serve->add_option("--integration-key", args->integration_key,
                    "The server's own key (enrolled, e.g. with the enforcer role): it signs what "
                    "the enforcement points record (admission denials, GitHub decisions, pinned "
                    "Argo analysis runs)");
  serve->add_option("--witness-key", args->witness_keys,
                    "A witness whose checkpoint cosignatures POST /v1/checkpoint/cosignatures "
                    "accepts: its note verifier key <name>+<hex id>+<base64(0x04||key)> "
                    "(repeatable)");
  AddGitHubOptions(serve, *args);
  serve->add_option("--request-timeout-ms", args->request_timeout_ms,
                    "Time for one request to arrive whole (a slower client is cut off)")
      ->capture_default_str();
  serve->add_option("--idle-timeout-ms", args->idle_timeout_ms,
                    "Time a connection may wait with no request before it is closed")
      ->capture_default_str();
  serve->callback([&action, &context, args] {
    action = [&context, args] { return RunServe(*args, context); };
  });

  auto submit_args = std::make_shared<SubmitArgs>();
  auto* submit = app.add_subcommand(
      "submit", "Send a signed event to a server (shiplog serve); exits as `append` does");
  AddServerOptions(submit, &submit_args->server, "--server",
                   "The server's URL, e.g. https://shiplog.internal:7478", /*required=*/true);
  submit->add_option("--key", submit_args->key, "Sign a bare event with this key file first");
  submit->add_option("--deployment", submit_args->deployment,
                     "For an in-toto statement in a DSSE envelope: the deployment it is evidence "
                     "for (its requested image must be one of the statement's subjects)");
  submit->add_option("event", submit_args->input, "The event's JSON file, or - for stdin")
      ->capture_default_str();
  submit->callback([&action, submit_args] {
    action = [submit_args] { return RunSubmit(*submit_args); };
  });
}

}  // namespace shiplog::cli
