// Helpers shared by the test files.
#pragma once
#include "factory.hpp"
#include "platform.hpp"
#include "scenario.hpp"
#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace fs::test {

// The message of the InputError that parsing `doc` (as file "t.json") raises; "" when it parses.
inline std::string scenario_error(const Json& doc)
{
  try {
    parse_scenario(doc, "t.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// SimGrid allows one engine per process: runs `body` in a forked child, which hands its result back through a file.
inline Json in_child(const std::function<Json()>& body)
{
  const std::string path = "/tmp/factorysim_test_" + std::to_string(getpid()) + ".json";
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      std::ofstream(path) << body().dump();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 1;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Json j = read_json_file(path);
  std::remove(path.c_str());
  return j;
}

// In a forked child: a quiet SimGrid engine with the network configured and the platform of `s` built as a run does
// (run_placement), then `body`, whose result comes back.
inline Json with_platform(const Scenario& s, const std::function<Json(simgrid::s4u::Engine&, const Platform&)>& body)
{
  return in_child([&] {
    int argc = 2;
    char a0[] = "t", a1[] = "--log=root.thresh:critical";
    char* argv[] = {a0, a1, nullptr};
    simgrid::s4u::Engine e(&argc, argv);
    configure_network(s);
    const Platform pf = build_platform(s);
    return body(e, pf);
  });
}

// Runs placement `placement` of `doc` in a forked child (keeping every request in RunResult::requests) and returns
// `report(scenario, result)`. `prepare` may
// change the parsed scenario first.
inline Json run_in_child(const Json& doc, size_t placement,
                         const std::function<Json(const Scenario&, const RunResult&)>& report,
                         const std::function<void(Scenario&)>& prepare = {})
{
  return in_child([&] {
    Scenario s = parse_scenario(doc, "test");
    if (prepare) prepare(s);
    RunOptions opt;
    opt.keep_requests = true; // tests look at every request
    return report(s, run_placement(s, placement, opt));
  });
}

} // namespace fs::test
