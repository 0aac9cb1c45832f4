// One simulation per child process (SimGrid's engine is a process-wide singleton, docs/design.md "One simulation
// per process"), shared by `run` and `capacity`: fork at most `jobs` children at once, collect each one's exit
// code and one-line error, stop them all on SIGINT/SIGTERM.
#pragma once
#include "scenario.hpp"
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace fs {
class TraceRecorder;
}

namespace fs::cli {

// Child side: one simulation of placement `idx`, its files (summary.json, requests.csv, sessions.csv,
// resolved_scenario.json; trace_events.json with `trace_events` > 0) written into `dir`. Returns the exit code;
// its one-line error, if any, goes to `err_fd`.
int simulate(const Scenario& s, size_t idx, const std::filesystem::path& dir, int err_fd, long trace_events = 0,
             long request_rows = 1);
// `--request-rows`: "all" -> 1, "none" -> 0, "N" -> N (every N-th request); InputError otherwise.
long parse_request_rows(const std::string& v);
// The indices of the placements named in `wanted` (all when empty); InputError for a name the scenario lacks.
std::vector<size_t> chosen_placements(const Scenario& s, const std::vector<std::string>& wanted);
// A one-line error from a child to its parent.
void report_to_parent(int err_fd, const std::string& msg);

// How a finished run reports (`run`, and the default study at capacity).
struct RunReport {
  std::string preface;                      // printed between the scenario line and the table
  std::map<std::string, std::string> extra; // more files for the output folder: name -> content
  std::string trace;                        // merge the placements' trace_events.json into this file
  bool strict = false;
  bool no_rows = false; // no requests.csv was written: one left in the output folder by an earlier run goes
};
class ResultDir;
// The placements' results in dir.staging() / folders: the side-by-side table on stdout, comparison.md and
// resolved_scenario.json, the trace, then everything moved into the output folder. Returns the exit code.
int finish_run(const Scenario& s, ResultDir& dir, const std::vector<std::string>& names,
               const std::vector<std::string>& folders, const RunReport& how);

class Children {
public:
  struct Done {
    size_t tag = 0;
    int code = 0;      // exit code (1 for a crash)
    std::string error; // the child's first error line; for a crash, "crashed (signal N)"
    bool crashed = false;
  };
  // Installs SIGINT/SIGTERM handlers (restored by the destructor).
  explicit Children(int jobs);
  ~Children();
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;

  bool can_start() const { return int(running_.size()) < jobs_ && !interrupted(); }
  bool busy() const { return !running_.empty(); }
  // Forks a child that runs `body(err_fd)` and exits with its result.
  void start(size_t tag, const std::function<int(int err_fd)>& body);
  // The next child to end; nullopt when none runs or a signal came.
  std::optional<Done> wait();
  int interrupted() const; // the signal that came, or 0
  // After a signal: stops and reaps every child, prints "interrupted (...)" and returns 128 + signal.
  int stop_all();

private:
  struct Child {
    size_t tag;
    int err_fd;
  };
  int jobs_;
  std::map<pid_t, Child> running_;
  struct sigaction old_int_ {
  }, old_term_{};
};

} // namespace fs::cli
