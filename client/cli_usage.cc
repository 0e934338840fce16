// `lantern --help`: every command and option, kept true to ParseCommandLine
// (client/cli.cc). One string, not a function to cut into pieces: the help
// text reads top to bottom as the user sees it.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/bench.h"
#include "client/cli.h"
#include "client/stories.h"

namespace lantern::client {

std::string UsageText() {
  return absl::StrCat(
      "Usage: lantern [GLOBAL OPTIONS] COMMAND [ARGS]\n"
      "\n"
      "Calls a Lantern server, which flags crisis signals in chat messages.\n"
      "\n"
      "Commands:\n"
      "  analyze TEXT...     Analyse one message (the words are joined with\n"
      "                      spaces); print its Analysis as one line of JSON.\n"
      "    --id ID           message id, echoed as message_id\n"
      "    --user ID         author id\n"
      "    --channel ID      channel / conversation id\n"
      "    --pretty          print indented JSON\n"
      "  stream              Analyse JSON lines from stdin, each a "
      "ChatMessage\n"
      "                      {\"id\":\"m1\",\"text\":\"...\"} or a "
      "StreamAnalyzeRequest\n"
      "                      {\"message\":{...}}, over StreamAnalyze.\n"
      "                      Print one JSON line per input line: a\n"
      "                      StreamAnalyzeResponse, or {\"line\":N,\"error\":"
      "{...}}\n"
      "                      for a line that is not a valid message. Blank\n"
      "                      lines are skipped; a summary goes to stderr.\n"
      "                      Survives a server drain or restart: reconnects\n"
      "                      with backoff and resends what was not answered.\n"
      "    --no-reconnect    end at the first drain, as one plain stream\n"
      "  health              Print SERVING, NOT_SERVING, UNKNOWN or\n"
      "                      SERVICE_UNKNOWN; exit 0 only if SERVING.\n"
      "    --service NAME    check one service (default: the whole server)\n"
      "    --wait SECONDS    wait up to SECONDS until SERVING\n"
      "  status              Print the server's version, uptime, model state\n"
      "                      and counters as indented JSON.\n"
      "  eval FILE           Run labelled JSON lines "
      "{\"text\",\"level\",\"tags\"}\n"
      "                      (FILE or - for stdin) through the server; print\n"
      "                      pass rates per tag, the confusion matrix, recall\n"
      "                      of high+critical and false-alarm rates.\n"
      "    --show-failures   list failed cases (id, levels, tags; no text)\n"
      "    --check           exit 1 when a quality target is missed\n",
      BenchUsageText(), StoriesUsageText(),
      "\n"
      "Global options (before or after the command):\n"
      "  --target HOST:PORT  server address (default: $LANTERN_TARGET, else ",
      ClientOptions().target,
      ");\n"
      "                      IP:PORT,IP:PORT,... for several replicas\n"
      "  --balance POLICY    auto (round_robin for a list of replicas, else\n"
      "                      pick_first), pick_first, or round_robin: each\n"
      "                      call to the next replica whose health is\n"
      "                      SERVING (also for dns:///NAME:PORT with several\n"
      "                      addresses); health and status answer for one\n"
      "  --timeout-ms N      deadline of each call in ms; stream has none\n"
      "                      (default ",
      absl::ToInt64Milliseconds(ClientOptions().timeout),
      ")\n"
      "  --max-attempts N    tries of each Analyze or GetStatus call that\n"
      "                      ends UNAVAILABLE (server warming up, draining or\n"
      "                      down), within its deadline; 1 = no retry\n"
      "                      (default ",
      ClientOptions().max_attempts,
      "; bench always tries once)\n"
      "  --tls               connect with TLS, trusting the system's CAs\n"
      "  --tls-ca FILE       connect with TLS, trusting the CAs in FILE (PEM)\n"
      "  --tls-cert FILE, --tls-key FILE\n"
      "                      client certificate and key (PEM) for mutual TLS\n"
      "  --tls-server-name NAME\n"
      "                      name to check the server's certificate against\n"
      "  --token-file FILE   send the bearer token in FILE with every call\n"
      "  -h, --help          print this help\n"
      "\n"
      "Exit status: 0 success; 1 the call failed, the stream ended with an\n"
      "error or the server is not SERVING; 2 bad usage.\n"
      "Errors go to stderr as 'error: <CODE>: <message>'.\n");
}

}  // namespace lantern::client
