// Argument parsing, JSON helpers, the unary commands and dispatch. The stream
// command lives in cli_stream.cc.
#include "client/cli.h"

#include <boost/program_options.hpp>
#include <cstdint>
#include <exception>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/eval.h"
#include "google/protobuf/util/json_util.h"

namespace lantern::client {
namespace {

namespace po = boost::program_options;

using grpc::health::v1::HealthCheckResponse;

// The options every command accepts, anywhere on the line.
po::options_description GlobalOptions() {
  po::options_description options("Global options");
  options.add_options()                                  //
      ("help,h", "")                                     //
      ("target", po::value<std::string>(), "")           //
      ("balance", po::value<std::string>(), "")          //
      ("timeout-ms", po::value<int64_t>(), "")           //
      ("max-attempts", po::value<int>(), "")             //
      ("tls", po::bool_switch(), "")                     //
      ("tls-ca", po::value<std::string>(), "")           //
      ("tls-cert", po::value<std::string>(), "")         //
      ("tls-key", po::value<std::string>(), "")          //
      ("tls-server-name", po::value<std::string>(), "")  //
      ("token-file", po::value<std::string>(), "");
  return options;
}

// Options and positionals of one command, plus the globals. The command word
// itself is the first positional.
struct CommandSyntax {
  po::options_description options;
  po::positional_options_description positional;
};

absl::StatusOr<Command> CommandFromName(const std::string& name) {
  if (name == "analyze") return Command::kAnalyze;
  if (name == "stream") return Command::kStream;
  if (name == "health") return Command::kHealth;
  if (name == "status") return Command::kStatus;
  if (name == "eval") return Command::kEval;
  if (name == "bench") return Command::kBench;
  if (name == "stories") return Command::kStories;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", name, "'"));
}

CommandSyntax SyntaxOf(Command command) {
  CommandSyntax syntax;
  syntax.options.add(GlobalOptions());
  syntax.options.add_options()("command", po::value<std::string>(), "");
  syntax.positional.add("command", 1);
  switch (command) {
    case Command::kAnalyze:
      syntax.options.add_options()                             //
          ("text", po::value<std::vector<std::string>>(), "")  //
          ("id", po::value<std::string>(), "")                 //
          ("user", po::value<std::string>(), "")               //
          ("channel", po::value<std::string>(), "")            //
          ("pretty", po::bool_switch(), "");
      syntax.positional.add("text", -1);
      break;
    case Command::kStream:
      syntax.options.add_options()("no-reconnect", po::bool_switch(), "");
      break;
    case Command::kHealth:
      syntax.options.add_options()                   //
          ("service", po::value<std::string>(), "")  //
          ("wait", po::value<double>(), "");
      break;
    case Command::kEval:
      syntax.options.add_options()                  //
          ("file", po::value<std::string>(), "")    //
          ("show-failures", po::bool_switch(), "")  //
          ("check", po::bool_switch(), "");
      syntax.positional.add("file", 1);
      break;
    case Command::kBench:
      AddBenchOptions(syntax.options);
      break;
    case Command::kStories:
      AddStoriesOptions(syntax.options, syntax.positional);
      break;
    case Command::kHelp:
    case Command::kStatus:
      break;
  }
  return syntax;
}

// The whole file; InvalidArgument naming `option` when it cannot be read.
absl::StatusOr<std::string> ReadOptionFile(const po::variables_map& vm,
                                           const char* option) {
  const std::string path = vm[option].as<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat("--", option, ": cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

// TLS files and the token file into `client`.
absl::Status ApplySecurityOptions(const po::variables_map& vm,
                                  ClientOptions* client) {
  ClientOptions::Tls& tls = client->tls;
  tls.enabled = vm["tls"].as<bool>() || vm.count("tls-ca") ||
                vm.count("tls-cert") || vm.count("tls-key") ||
                vm.count("tls-server-name");
  if (vm.count("tls-cert") != vm.count("tls-key")) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  for (auto [option, field] : {std::pair{"tls-ca", &tls.root_certs_pem},
                               {"tls-cert", &tls.cert_chain_pem},
                               {"tls-key", &tls.private_key_pem}}) {
    if (!vm.count(option)) continue;
    absl::StatusOr<std::string> pem = ReadOptionFile(vm, option);
    if (!pem.ok()) return pem.status();
    *field = *std::move(pem);
  }
  if (vm.count("tls-server-name"))
    tls.server_name = vm["tls-server-name"].as<std::string>();
  if (vm.count("token-file")) {
    absl::StatusOr<std::string> token = ReadOptionFile(vm, "token-file");
    if (!token.ok()) return token.status();
    // One line; surrounding whitespace (a trailing newline) is not part of it.
    client->token = std::string(absl::StripAsciiWhitespace(*token));
    if (client->token.empty() ||
        client->token.find_first_of(" \t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          "--token-file must hold one token on one line");
    }
  }
  return absl::OkStatus();
}

// Copies what the global options say into `options->client`.
absl::Status ApplyGlobalOptions(const po::variables_map& vm,
                                absl::string_view default_target,
                                CliOptions* options) {
  options->client.target = vm.count("target") ? vm["target"].as<std::string>()
                                              : std::string(default_target);
  if (options->client.target.empty()) {
    return absl::InvalidArgumentError("--target must not be empty");
  }
  if (absl::Status s = ChannelTarget(options->client.target).status();
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--target: ", s.message()));
  }
  if (vm.count("balance")) {
    const std::string& policy = vm["balance"].as<std::string>();
    if (policy == "auto") {
      options->client.balancing = ClientOptions::Balancing::kAuto;
    } else if (policy == "pick_first") {
      options->client.balancing = ClientOptions::Balancing::kPickFirst;
    } else if (policy == "round_robin") {
      options->client.balancing = ClientOptions::Balancing::kRoundRobin;
    } else {
      return absl::InvalidArgumentError(
          "--balance must be auto, pick_first or round_robin");
    }
  }
  if (vm.count("timeout-ms")) {
    const int64_t ms = vm["timeout-ms"].as<int64_t>();
    if (ms <= 0) {
      return absl::InvalidArgumentError("--timeout-ms must be positive");
    }
    options->client.timeout = absl::Milliseconds(ms);
  }
  if (vm.count("max-attempts")) {
    const int attempts = vm["max-attempts"].as<int>();
    if (attempts < 1 || attempts > ClientOptions::kMaxCallAttempts) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max-attempts must be from 1 to ",
                       ClientOptions::kMaxCallAttempts, ", got ", attempts));
    }
    options->client.max_attempts = attempts;
  }
  return ApplySecurityOptions(vm, &options->client);
}

// Copies the command's own options and positionals into `options`.
absl::Status ApplyCommandOptions(const po::variables_map& vm,
                                 CliOptions* options) {
  switch (options->command) {
    case Command::kAnalyze: {
      if (!vm.count("text")) {
        return absl::InvalidArgumentError("analyze needs the message TEXT");
      }
      lantern::v1::ChatMessage& message = options->message;
      message.set_text(
          absl::StrJoin(vm["text"].as<std::vector<std::string>>(), " "));
      if (vm.count("id")) message.set_id(vm["id"].as<std::string>());
      if (vm.count("user")) message.set_user_id(vm["user"].as<std::string>());
      if (vm.count("channel")) {
        message.set_channel_id(vm["channel"].as<std::string>());
      }
      options->pretty = vm["pretty"].as<bool>();
      return absl::OkStatus();
    }
    case Command::kStream:
      options->reconnect = !vm["no-reconnect"].as<bool>();
      return absl::OkStatus();
    case Command::kHealth:
      if (vm.count("service")) {
        options->service = vm["service"].as<std::string>();
      }
      if (vm.count("wait")) {
        const double seconds = vm["wait"].as<double>();
        if (!(seconds >= 0)) {  // Also rejects NaN.
          return absl::InvalidArgumentError("--wait must be >= 0 seconds");
        }
        options->wait = absl::Seconds(seconds);
      }
      return absl::OkStatus();
    case Command::kEval:
      if (!vm.count("file")) {
        return absl::InvalidArgumentError(
            "eval needs a FILE of JSON lines (or - for stdin)");
      }
      options->eval_file = vm["file"].as<std::string>();
      options->show_failures = vm["show-failures"].as<bool>();
      options->check = vm["check"].as<bool>();
      return absl::OkStatus();
    case Command::kBench:
      return ApplyBenchOptions(vm, &options->bench);
    case Command::kStories:
      return ApplyStoriesOptions(vm, &options->stories);
    case Command::kHelp:
    case Command::kStatus:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

// First pass: find the command word (or --help) without knowing which
// options the command takes, so global options may come before or after it.
// Returns "" when there is none.
std::string FindCommand(int argc, const char* const* argv, bool* help) {
  po::options_description options = GlobalOptions();
  options.add_options()                          //
      ("command", po::value<std::string>(), "")  //
      ("args", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv)
                .options(options)
                .positional(positional)
                .allow_unregistered()
                .run(),
            vm);
  *help = vm.count("help") > 0;
  if (!vm.count("command")) return std::string();
  return vm["command"].as<std::string>();
}

absl::StatusOr<CliOptions> ParseOrThrow(int argc, const char* const* argv,
                                        absl::string_view default_target) {
  CliOptions options;
  bool help = false;
  const std::string name = FindCommand(argc, argv, &help);
  if (help) return options;  // Command::kHelp.
  if (name.empty()) return absl::InvalidArgumentError("missing command");
  absl::StatusOr<Command> command = CommandFromName(name);
  if (!command.ok()) return command.status();
  options.command = *command;

  CommandSyntax syntax = SyntaxOf(options.command);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(syntax.options)
                  .positional(syntax.positional)
                  .run(),
              vm);
  } catch (const po::too_many_positional_options_error&) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' takes no arguments"));
  }
  po::notify(vm);
  if (absl::Status s = ApplyGlobalOptions(vm, default_target, &options);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ApplyCommandOptions(vm, &options); !s.ok()) return s;
  return options;
}

void PrintError(std::ostream& err, const absl::Status& status) {
  err << ErrorLine(status) << '\n';
}

}  // namespace

absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv,
                                            absl::string_view default_target) {
  // Boost.Program_options reports bad usage by throwing; nothing else here
  // throws, so every exception is a usage error.
  try {
    return ParseOrThrow(argc, argv, default_target);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(),
                     " as JSON: ", std::string(status.message())));
  }
  // add_whitespace ends the text with a newline; callers add their own.
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string ErrorLine(const absl::Status& status) {
  return absl::StrCat("error: ", absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

int RunAnalyze(Client& client, const CliOptions& options, std::ostream& out,
               std::ostream& err) {
  absl::StatusOr<lantern::v1::Analysis> analysis =
      client.Analyze(options.message);
  if (!analysis.ok()) {
    PrintError(err, analysis.status());
    return kExitFailure;
  }
  absl::StatusOr<std::string> json = ToJson(*analysis, options.pretty);
  if (!json.ok()) {
    PrintError(err, json.status());
    return kExitFailure;
  }
  out << *json << std::endl;
  return kExitOk;
}

int RunHealth(Client& client, const CliOptions& options, std::ostream& out,
              std::ostream& err) {
  if (options.wait.has_value()) {
    const absl::Status status =
        client.WaitUntilServing(*options.wait, options.service);
    if (!status.ok()) {
      PrintError(err, status);
      return kExitFailure;
    }
    out << HealthCheckResponse::ServingStatus_Name(HealthCheckResponse::SERVING)
        << std::endl;
    return kExitOk;
  }
  absl::StatusOr<HealthCheckResponse::ServingStatus> state =
      client.CheckHealth(options.service);
  if (!state.ok()) {
    PrintError(err, state.status());
    return kExitFailure;
  }
  out << HealthCheckResponse::ServingStatus_Name(*state) << std::endl;
  return *state == HealthCheckResponse::SERVING ? kExitOk : kExitFailure;
}

int RunStatus(Client& client, std::ostream& out, std::ostream& err) {
  absl::StatusOr<lantern::v1::GetStatusResponse> status = client.GetStatus();
  if (!status.ok()) {
    PrintError(err, status.status());
    return kExitFailure;
  }
  absl::StatusOr<std::string> json = ToJson(*status, /*pretty=*/true);
  if (!json.ok()) {
    PrintError(err, json.status());
    return kExitFailure;
  }
  out << *json << std::endl;
  return kExitOk;
}

int RunCli(int argc, const char* const* argv, absl::string_view default_target,
           std::istream& in, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CliOptions> options =
      ParseCommandLine(argc, argv, default_target);
  if (!options.ok()) {
    err << "lantern: " << options.status().message() << "\n\n" << UsageText();
    return kExitUsage;
  }
  if (options->command == Command::kHelp) {
    out << UsageText();
    return kExitOk;
  }
  Client client(options->client);
  switch (options->command) {
    case Command::kAnalyze:
      return RunAnalyze(client, *options, out, err);
    case Command::kStream:
      return RunStream(client, *options, in, out, err);
    case Command::kHealth:
      return RunHealth(client, *options, out, err);
    case Command::kStatus:
      return RunStatus(client, out, err);
    case Command::kEval: {
      if (options->eval_file == "-") {
        return RunEval(client, in, "stdin", options->show_failures,
                       options->check, out, err);
      }
      std::ifstream file(options->eval_file);
      if (!file) {
        err << "lantern eval: cannot read " << options->eval_file << "\n";
        return kExitFailure;
      }
      return RunEval(client, file, options->eval_file, options->show_failures,
                     options->check, out, err);
    }
    case Command::kBench:
      return RunBench(options->client, options->bench, out, err);
    case Command::kStories:
      return RunStories(client, options->stories, in, out, err);
    case Command::kHelp:
      break;
  }
  return kExitOk;
}

}  // namespace lantern::client
