// `factorysim run`: parse once, then simulate each placement in its own child process
// (SimGrid's engine is a process-wide singleton, docs/design.md, "One simulation per process"), then report side by side.
#include "commands.hpp"
#include "factory.hpp"
#include "scenario.hpp"
#include "summary.hpp"
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

std::string slurp(const stdfs::path& p)
{
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Child process: one simulation, its files written into `dir`.
int simulate(const Scenario& s, size_t idx, const stdfs::path& dir)
{
  try {
    RunResult r = run_placement(s, idx);
    Json summary = make_summary(s, s.placements[idx], r);
    stdfs::create_directories(dir);
    std::ofstream(dir / "summary.json") << summary.dump(2) << "\n";
    std::ofstream csv(dir / "requests.csv");
    write_requests_csv(csv, r);
    std::ofstream(dir / "resolved_scenario.json") << s.resolved.dump(2) << "\n";
    return 0;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: placement \"" << s.placements[idx].name << "\": " << e.what() << "\n";
    return 1;
  }
}

} // namespace

int cmd_run(const RunArgs& a)
{
  Scenario s = load_scenario(a.scenario, a.sets); // InputError -> exit 2 before anything is written
  if (!a.mode.empty()) {
    s.sim.mode = a.mode;
    s.resolved["sim"]["mode"] = a.mode;
  }
  std::vector<size_t> chosen;
  for (size_t i = 0; i < s.placements.size(); ++i)
    if (a.placements.empty() ||
        std::find(a.placements.begin(), a.placements.end(), s.placements[i].name) != a.placements.end())
      chosen.push_back(i);
  if (chosen.empty()) throw InputError("--placement: no placement of that name in " + s.file);

  // Results go to a staging folder first: a failed run leaves nothing that looks complete.
  const bool keep = !a.out_dir.empty();
  const stdfs::path out = keep ? stdfs::path(a.out_dir) : stdfs::temp_directory_path();
  const stdfs::path staging = out / (".factorysim-staging-" + std::to_string(getpid()));
  stdfs::create_directories(staging);
  const int jobs = a.jobs > 0 ? a.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  std::cout.flush();
  std::cerr.flush();

  int worst = 0;
  size_t next = 0, running = 0;
  std::map<pid_t, size_t> children;
  while (next < chosen.size() || running > 0) {
    while (running < size_t(jobs) && next < chosen.size()) {
      const size_t idx = chosen[next++];
      pid_t pid = fork();
      if (pid == 0) _exit(simulate(s, idx, staging / s.placements[idx].name));
      if (pid < 0) throw std::runtime_error("fork failed");
      children[pid] = idx;
      running++;
    }
    int status = 0;
    pid_t done = wait(&status);
    if (done < 0) break;
    running--;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (code != 0 && !WIFEXITED(status))
      std::cerr << "error: placement \"" << s.placements[children[done]].name << "\" crashed (signal "
                << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")\n";
    worst = std::max(worst, code);
  }

  std::vector<std::string> names, texts;
  if (worst == 0) {
    for (size_t idx : chosen) {
      names.push_back(s.placements[idx].name);
      texts.push_back(slurp(staging / s.placements[idx].name / "summary.json"));
    }
    const std::string table = format_table(names, texts);
    std::cout << "scenario " << s.name << " (" << s.model.name << ", " << s.workload.type << " workload)\n" << table;
    if (keep) {
      std::ofstream(staging / "resolved_scenario.json") << s.resolved.dump(2) << "\n";
      std::ofstream(staging / "comparison.md") << "# " << s.name << "\n\n```\n" << table << "```\n";
      for (auto const& entry : stdfs::directory_iterator(staging)) {
        const stdfs::path dst = out / entry.path().filename();
        stdfs::remove_all(dst);
        stdfs::rename(entry.path(), dst);
      }
      std::cout << "results in " << out.string() << "/\n";
    }
  }
  stdfs::remove_all(staging);
  return worst;
}

} // namespace fs::cli
