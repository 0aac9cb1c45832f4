// `factorysim run`: parse and check everything once, then simulate each placement in its own child process
// (SimGrid's engine is a process-wide singleton, docs/design.md, "One simulation per process"), then report
// side by side. Results appear in the output folder only when every placement succeeded.
#include "commands.hpp"
#include "factory.hpp"
#include "output.hpp"
#include "scenario.hpp"
#include "summary.hpp"
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }

// Child process: one simulation, its files written into `dir`. Its one-line error, if any, goes to `err_fd`.
int simulate(const Scenario& s, size_t idx, const stdfs::path& dir, int err_fd)
{
  auto report = [&](const std::string& msg) {
    const std::string line = msg + "\n";
    [[maybe_unused]] ssize_t n = ::write(err_fd, line.data(), line.size());
  };
  try {
    RunResult r = run_placement(s, idx);
    Json summary = make_summary(s, s.placements[idx], r);
    std::error_code ec;
    stdfs::create_directory(dir, ec);
    if (ec) throw OutputError(dir.string() + ": cannot create: " + ec.message());
    write_file(dir / "summary.json", summary.dump(2) + "\n");
    CheckedFile csv(dir / "requests.csv");
    write_requests_csv(r, [&](const std::string& chunk) { csv.write(chunk); });
    csv.close();
    if (!r.sessions.empty()) {
      CheckedFile sessions(dir / "sessions.csv");
      write_sessions_csv(r, [&](const std::string& chunk) { sessions.write(chunk); });
      sessions.close();
    }
    write_file(dir / "resolved_scenario.json", s.resolved.dump(2) + "\n");
    return 0;
  } catch (const OutputError& e) {
    report("error: cannot write the results: " + std::string(e.what()));
  } catch (const std::exception& e) {
    report("error: placement \"" + s.placements[idx].name + "\" failed: " + e.what());
  }
  return 1;
}

struct Child {
  size_t idx;
  int err_fd; // read end of its error pipe
};

std::string drain(int fd)
{
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

// The status line of a summary for the terminal ("" when the run is healthy).
std::string health(const std::string& placement, const Json& summary)
{
  const Json& st = summary["status"];
  if (st["verdict"] == "ok") return "";
  std::string s = "warning: placement \"" + placement + "\": " + st["verdict"].get<std::string>();
  for (auto const& r : st["reasons"])
    s += "; " + r.get<std::string>();
  return s;
}

} // namespace

int cmd_run(const RunArgs& a)
{
  // Everything a user can get wrong is checked here, before any folder exists: exit 2 and nothing written.
  Scenario s = load_scenario(a.scenario, a.sets);
  if (!a.mode.empty()) {
    s.sim.mode = a.mode;
    s.resolved["sim"]["mode"] = a.mode;
  }
  std::vector<size_t> chosen;
  for (size_t i = 0; i < s.placements.size(); ++i)
    if (a.placements.empty() ||
        std::find(a.placements.begin(), a.placements.end(), s.placements[i].name) != a.placements.end())
      chosen.push_back(i);
  for (const std::string& want : a.placements)
    if (std::none_of(s.placements.begin(), s.placements.end(),
                     [&](const PlacementConfig& p) { return p.name == want; }))
      throw InputError("--placement " + want + ": no placement of that name in " + s.file);
  std::vector<std::string> names;
  for (size_t idx : chosen)
    names.push_back(s.placements[idx].name);
  const std::vector<std::string> folders = folder_names(names);

  ResultDir dir(a.out_dir);
  const int jobs = a.jobs > 0 ? a.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  std::cout.flush();
  std::cerr.flush();

  // SIGINT/SIGTERM: stop the children, remove the staging folder, exit 128 + signal.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  int worst = 0;
  size_t next = 0;
  std::map<pid_t, Child> children;
  std::vector<std::string> errors;
  while ((next < chosen.size() || !children.empty()) && !g_signal) {
    while (children.size() < size_t(jobs) && next < chosen.size() && !g_signal) {
      const size_t k = next++;
      int fds[2];
      if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
      const pid_t pid = fork();
      if (pid == 0) {
        ::close(fds[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive the parent
        if (g_signal || getppid() == 1) _exit(1);
        _exit(simulate(s, chosen[k], dir.staging() / folders[k], fds[1]));
      }
      ::close(fds[1]);
      if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
      children[pid] = {k, fds[0]};
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = children.find(done);
    if (it == children.end()) continue;
    const Child c = it->second;
    children.erase(it);
    const std::string err = drain(c.err_fd);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (!WIFEXITED(status))
      errors.push_back("error: placement \"" + names[c.idx] + "\" crashed (signal " +
                       std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0) + ")");
    else if (code != 0 && !err.empty())
      errors.push_back(err.substr(0, err.find('\n')));
    worst = std::max(worst, code);
  }
  if (g_signal) {
    for (auto const& [pid, c] : children)
      ::kill(pid, SIGTERM);
    for (auto const& [pid, c] : children) {
      waitpid(pid, nullptr, 0);
      ::close(c.err_fd);
    }
    dir.remove_staging();
    const int sig = g_signal;
    std::cerr << "interrupted (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): no results written\n";
    return 128 + sig;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);

  if (worst != 0) {
    // One line: the first failure, and how many more placements failed (a full disk fails them all).
    if (!errors.empty())
      std::cerr << errors.front()
                << (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more placements failed)" : "")
                << "\n";
    dir.remove_staging();
    return worst;
  }

  std::vector<std::string> texts;
  std::vector<std::string> warnings;
  bool healthy = true;
  try {
    for (size_t k = 0; k < chosen.size(); ++k) {
      const stdfs::path p = dir.staging() / folders[k] / "summary.json";
      Json summary = read_json_file(p.string());
      texts.push_back(summary.dump());
      const std::string w = health(names[k], summary);
      if (!w.empty()) warnings.push_back(w);
      healthy = healthy && w.empty();
    }
    const std::string table = format_table(names, texts);
    if (dir.keeps()) {
      write_file(dir.staging() / "resolved_scenario.json", s.resolved.dump(2) + "\n");
      write_file(dir.staging() / "comparison.md", "# " + s.name + "\n\n```\n" + table + "```\n");
      dir.commit();
    }
    std::cout << "scenario " << s.name << " (" << s.model.name << ", " << s.workload.type << " workload)\n" << table;
    if (dir.keeps()) std::cout << "results in " << dir.out().string() << "/\n";
  } catch (const OutputError& e) {
    std::cerr << "error: cannot write the results: " << e.what() << "\n";
    dir.remove_staging();
    return 1;
  } catch (const InputError& e) {
    std::cerr << "error: cannot read back a result: " << e.what() << "\n";
    dir.remove_staging();
    return 1;
  }
  for (const std::string& w : warnings)
    std::cerr << w << "\n";
  return (a.strict && !healthy) ? 3 : 0;
}

} // namespace fs::cli
