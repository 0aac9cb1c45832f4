// `factorysim validate`: runs every published case of scenarios/validation/ (docs/validation.md), each as its own
// `factorysim run` (or `capacity`) child process, since SimGrid is one engine per process, and prints how far the
// simulated numbers are from the published ones. The error is information: only a failed run fails the command.
#include "commands.hpp"
#include "output.hpp"
#include "validation_case.hpp"
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

struct Outcome {
  std::string status = "ok"; // ok, failed, skipped
  std::string detail;        // why it failed or was skipped
  double simulated = 0, error = 0;
};

// Starts `self args...` with stdout and stderr into `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const stdfs::path& log)
{
  std::vector<char*> argv;
  static std::string self = "/proc/self/exe";
  std::vector<std::string> all{"factorysim"};
  all.insert(all.end(), args.begin(), args.end());
  for (std::string& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive validate
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(self.c_str(), argv.data());
    _exit(127);
  }
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  return pid;
}

int wait_exit(pid_t pid)
{
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string read_text(const stdfs::path& p)
{
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether this binary has the `capacity` command (it comes from another branch; until then such cases skip).
// `--help` exits 0 either way; only a real subcommand prints its own usage line.
bool has_capacity_command(const stdfs::path& scratch)
{
  const stdfs::path log = scratch / "capacity-help.log";
  return wait_exit(spawn({"capacity", "--help"}, log)) == 0 &&
         read_text(log).find("factorysim capacity") != std::string::npos;
}

std::string last_line(const stdfs::path& log)
{
  std::string text = read_text(log);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  const size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::vector<std::string> child_args(const ValidationCase& c, const stdfs::path& out)
{
  std::vector<std::string> a{c.command, c.scenario.string(), "-o", out.string()};
  if (c.command == "run") {
    a.insert(a.end(), {"-j", "1"});
    if (!c.placement.empty()) a.insert(a.end(), {"--placement", c.placement});
  }
  for (const std::string& s : c.sets)
    a.insert(a.end(), {"--set", s});
  return a;
}

// The summary a finished run wrote: the named placement's, or the only one.
Outcome read_outcome(const ValidationCase& c, const stdfs::path& out)
{
  Outcome o;
  stdfs::path summary;
  if (!c.placement.empty())
    summary = out / folder_names({c.placement}).front() / "summary.json";
  else
    for (const auto& e : stdfs::directory_iterator(out))
      if (e.is_directory() && stdfs::exists(e.path() / "summary.json")) {
        if (!summary.empty()) {
          o.status = "failed";
          o.detail = "the scenario has several placements; the case must name one";
          return o;
        }
        summary = e.path() / "summary.json";
      }
  if (summary.empty() || !stdfs::exists(summary)) {
    o.status = "failed";
    o.detail = "no summary.json in " + out.string();
    return o;
  }
  const std::optional<double> v = metric_at(read_json_file(summary.string()), c.metric);
  if (!v) {
    o.status = "failed";
    o.detail = "summary.json has no number at " + c.metric;
    return o;
  }
  o.simulated = *v * c.metric_scale;
  o.error = error_percent(o.simulated, c.published);
  return o;
}

std::string fixed(double x, int digits)
{
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << x;
  return s.str();
}

// A number with 4 significant digits at most (tok/s in thousands, latencies in ms).
std::string num(double x)
{
  const double a = std::fabs(x);
  return fixed(x, a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

// A failure's detail for the table (validation.csv keeps all of it).
std::string brief(const std::string& s) { return s.size() <= 60 ? s : s.substr(0, 57) + "..."; }

std::string csv_field(const std::string& s)
{
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s)
    q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

struct Report {
  std::string table, markdown, csv;
  int failed = 0;
};

Report make_report(const std::vector<ValidationCase>& cases, const std::vector<Outcome>& outs)
{
  Report r;
  std::vector<std::vector<std::string>> rows{
      {"case", "chip", "model", "style", "metric", "published", "simulated", "error %"}};
  std::vector<double> errors;
  std::string worst_case;
  double worst = -1;
  r.csv = "case,chip,model,style,command,metric,unit,normalisation,published,simulated,error_percent,status,detail,"
          "source_url,source_date\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    const ValidationCase& c = cases[i];
    const Outcome& o = outs[i];
    const bool ok = o.status == "ok";
    rows.push_back({c.name, c.chip, c.model, c.style, c.metric + " [" + c.unit + "]", num(c.published),
                    ok ? num(o.simulated) : o.status,
                    ok ? (o.error >= 0 ? "+" : "") + fixed(o.error, 1) : brief(o.detail)});
    r.csv += csv_field(c.name) + "," + csv_field(c.chip) + "," + csv_field(c.model) + "," + c.style + "," + c.command +
             "," + csv_field(c.metric) + "," + csv_field(c.unit) + "," + csv_field(c.normalisation) + "," +
             format_number(c.published) + "," + (ok ? format_number(o.simulated) : "") + "," +
             (ok ? format_number(o.error) : "") + "," + o.status + "," + csv_field(o.detail) + "," +
             csv_field(c.source_url) + "," + csv_field(c.source_date) + "\n";
    r.failed += o.status == "failed";
    if (!ok) continue;
    errors.push_back(o.error);
    if (std::fabs(o.error) > worst) {
      worst = std::fabs(o.error);
      worst_case = c.name;
    }
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t k = 0; k < row.size(); ++k)
      width[k] = std::max(width[k], row[k].size());
  for (size_t n = 0; n < rows.size(); ++n) {
    std::string line, md = "|";
    for (size_t k = 0; k < rows[n].size(); ++k) {
      const bool right = k >= 5;
      const std::string pad(width[k] - rows[n][k].size(), ' ');
      line += (k ? "  " : "") + (right ? pad + rows[n][k] : rows[n][k] + (k + 1 < rows[n].size() ? pad : ""));
      md += " " + rows[n][k] + " |";
    }
    r.table += line + "\n";
    r.markdown += md + "\n";
    if (n == 0) {
      r.markdown += "|";
      for (size_t k = 0; k < rows[0].size(); ++k)
        r.markdown += k >= 5 ? " ---: |" : " --- |";
      r.markdown += "\n";
    }
  }
  const std::string foot = errors.empty() ? "no case ran to completion\n"
                                          : std::to_string(errors.size()) + " of " + std::to_string(cases.size()) +
                                                " cases compared: median |error| " + fixed(median_abs(errors), 1) +
                                                "%, worst |error| " + fixed(worst, 1) + "% (" + worst_case + ")\n";
  r.table += foot;
  r.markdown += "\n" + foot;
  return r;
}

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int sig) { g_stop = sig; }

// Runs every case that can run, `jobs` at a time, filling `outs`. Returns the signal that stopped it (its children
// terminated and reaped), or 0.
int run_cases(const std::vector<ValidationCase>& cases, const stdfs::path& runs, bool capacity, int jobs,
              std::vector<Outcome>& outs)
{
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_stop; // no SA_RESTART: waitpid returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::map<pid_t, size_t> running;
  size_t next = 0;
  while ((next < cases.size() || !running.empty()) && !g_stop) {
    while (running.size() < size_t(jobs) && next < cases.size() && !g_stop) {
      const size_t k = next++;
      if (cases[k].command == "capacity" && !capacity) {
        outs[k].status = "skipped";
        outs[k].detail = "needs capacity command";
        continue;
      }
      running[spawn(child_args(cases[k], runs / cases[k].name), runs / (cases[k].name + ".log"))] = k;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(done);
    if (it == running.end()) continue;
    const size_t k = it->second;
    running.erase(it);
    const ValidationCase& c = cases[k];
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != 0) {
      outs[k].status = "failed";
      outs[k].detail = "exit " + std::to_string(code) + ": " + last_line(runs / (c.name + ".log"));
    } else {
      outs[k] = read_outcome(c, runs / c.name);
    }
    std::cerr << "  " << c.name << ": " << outs[k].status
              << (outs[k].status == "ok" ? " (" + fixed(outs[k].error, 1) + "%)" : ": " + outs[k].detail) << "\n";
  }
  for (const auto& [pid, k] : running)
    ::kill(pid, SIGTERM);
  for (const auto& [pid, k] : running)
    wait_exit(pid);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return g_stop;
}

} // namespace

int cmd_validate(const ValidateArgs& a)
{
  const stdfs::path dir = a.dir.empty() ? stdfs::path("scenarios/validation") : stdfs::path(a.dir);
  const std::vector<ValidationCase> cases = load_cases(dir, a.cases);
  ResultDir result(a.out_dir); // checked before anything runs; staging holds the runs until the end
  const stdfs::path runs = result.staging() / "runs";
  stdfs::create_directories(runs);
  const bool capacity =
      std::any_of(cases.begin(), cases.end(), [](const ValidationCase& c) { return c.command == "capacity"; }) &&
      has_capacity_command(result.staging());
  const int jobs = a.jobs > 0 ? a.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  std::cerr << "validate: " << cases.size() << " cases from " << dir.string() << ", " << jobs << " at a time\n";
  std::vector<Outcome> outs(cases.size());
  if (const int sig = run_cases(cases, runs, capacity, jobs, outs)) {
    result.remove_staging();
    std::cerr << "interrupted (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): no results written\n";
    return 128 + sig;
  }

  const Report r = make_report(cases, outs);
  std::cout << r.table;
  if (result.keeps()) {
    write_file(result.staging() / "validation.csv", r.csv);
    write_file(result.staging() / "validation.md", "# Validation against published results\n\n" + r.markdown);
    result.commit();
    std::cout << "results in " << result.out().string() << "/ (validation.csv, validation.md, runs/)\n";
  }
  if (r.failed) std::cerr << "error: " << r.failed << " case(s) failed to run\n";
  return r.failed ? 1 : 0;
}

} // namespace fs::cli
