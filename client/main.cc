// `lantern`: command-line client for the Lantern Analyzer service. All logic
// lives in client/cli.h; run `lantern --help` for usage.
#include <cstdlib>
#include <iostream>

#include "client/cli.h"

int main(int argc, char** argv) {
  // The one place the environment is read; the library takes it as input.
  const char* env_target = std::getenv("LANTERN_TARGET");
  const std::string default_target =
      env_target != nullptr && *env_target != '\0'
          ? env_target
          : lantern::client::ClientOptions().target;
  return lantern::client::RunCli(argc, argv, default_target, std::cin,
                                 std::cout, std::cerr);
}
