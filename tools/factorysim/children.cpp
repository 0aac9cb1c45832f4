#include "children.hpp"
#include "output.hpp"
#include "summary.hpp"
#include "trace_recorder.hpp"
#include <cstring>
#include <iostream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }

std::string drain(int fd)
{
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

} // namespace

std::vector<size_t> chosen_placements(const Scenario& s, const std::vector<std::string>& wanted)
{
  std::vector<size_t> chosen;
  for (size_t i = 0; i < s.placements.size(); ++i)
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), s.placements[i].name) != wanted.end())
      chosen.push_back(i);
  for (const std::string& want : wanted)
    if (std::none_of(s.placements.begin(), s.placements.end(),
                     [&](const PlacementConfig& p) { return p.name == want; }))
      throw InputError("--placement " + want + ": no placement of that name in " +
                       (s.file.empty() ? std::string("the built-in default") : s.file));
  return chosen;
}

long parse_request_rows(const std::string& v)
{
  if (v == "all") return 1;
  if (v == "none") return 0;
  if (!v.empty() && v.size() <= 12 && v.find_first_not_of("0123456789") == std::string::npos && std::stol(v) >= 1)
    return std::stol(v);
  throw InputError("--request-rows " + v + ": expected all, none or a whole number >= 1 (every N-th request)");
}

void report_to_parent(int err_fd, const std::string& msg)
{
  const std::string line = msg + "\n";
  [[maybe_unused]] ssize_t n = ::write(err_fd, line.data(), line.size());
}

int simulate(const Scenario& s, size_t idx, const stdfs::path& dir, int err_fd, long trace_events, long request_rows)
{
  try {
    std::unique_ptr<ChromeTrace> trace;
    if (trace_events > 0) trace = std::make_unique<ChromeTrace>(int(idx) + 1, s.placements[idx].name, trace_events);
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) throw OutputError(dir.string() + ": cannot create: " + ec.message());
    // Rows are written as requests finish (the folder is a staging one: a failed run leaves nothing behind).
    std::optional<CheckedFile> csv;
    std::optional<RequestCsv> rows;
    if (request_rows > 0) {
      csv.emplace(dir / "requests.csv");
      rows.emplace([&](const std::string& chunk) { csv->write(chunk); }, request_rows);
    }
    RunOptions opt;
    opt.trace = trace.get();
    opt.rows = rows ? &*rows : nullptr;
    RunResult r = run_placement(s, idx, opt);
    Json summary = make_summary(s, s.placements[idx], r);
    if (rows) {
      rows->finish();
      csv->close();
    }
    write_file(dir / "summary.json", summary.dump(2) + "\n");
    if (!r.sessions.empty()) {
      CheckedFile sessions(dir / "sessions.csv");
      write_sessions_csv(r, [&](const std::string& chunk) { sessions.write(chunk); });
      sessions.close();
    }
    write_file(dir / "resolved_scenario.json", s.resolved.dump(2) + "\n");
    if (trace) write_file(dir / "trace_events.json", trace->text());
    return 0;
  } catch (const OutputError& e) {
    report_to_parent(err_fd, "error: cannot write the results: " + std::string(e.what()));
  } catch (const std::exception& e) {
    report_to_parent(err_fd, "error: placement \"" + s.placements[idx].name + "\" failed: " + e.what());
  }
  return 1;
}

Children::Children(int jobs) : jobs_(std::max(1, jobs))
{
  g_signal = 0;
  std::cout.flush();
  std::cerr.flush();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

Children::~Children()
{
  for (auto const& [pid, c] : running_) {
    ::kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    ::close(c.err_fd);
  }
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int Children::interrupted() const { return g_signal; }

void Children::start(size_t tag, const std::function<int(int)>& body)
{
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid == 0) {
    ::close(fds[0]);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive the parent
    if (g_signal || getppid() == 1) _exit(1);
    int code = 1;
    try {
      code = body(fds[1]);
    } catch (const InputError& e) {
      report_to_parent(fds[1], std::string("error: ") + e.what());
      code = 2;
    } catch (const std::exception& e) {
      report_to_parent(fds[1], std::string("error: ") + e.what());
    }
    _exit(code);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  running_[pid] = {tag, fds[0]};
}

std::optional<Children::Done> Children::wait()
{
  while (!running_.empty() && !g_signal) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    auto it = running_.find(done);
    if (it == running_.end()) continue;
    const Child c = it->second;
    running_.erase(it);
    Done d;
    d.tag = c.tag;
    const std::string err = drain(c.err_fd);
    d.error = err.substr(0, err.find('\n'));
    if (!WIFEXITED(status)) {
      d.code = 1;
      d.crashed = true;
      d.error = "crashed (signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0) + ")";
    } else {
      d.code = WEXITSTATUS(status);
    }
    return d;
  }
  return std::nullopt;
}

int Children::stop_all()
{
  for (auto const& [pid, c] : running_)
    ::kill(pid, SIGTERM);
  for (auto const& [pid, c] : running_) {
    waitpid(pid, nullptr, 0);
    ::close(c.err_fd);
  }
  running_.clear();
  const int sig = g_signal;
  std::cerr << "interrupted (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): no results written\n";
  return 128 + sig;
}

} // namespace fs::cli
