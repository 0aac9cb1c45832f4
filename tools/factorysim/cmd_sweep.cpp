// `factorysim sweep`: expand a sweep file into points, check every point's scenario, then simulate each point in a
// child process (`factorysim run`, one SimGrid engine per process), N at a time, over MPI ranks when mpirun
// started it. A finished point is moved into OUTDIR/points/<id>/ whole, so a re-run resumes where it stopped
// (docs/design.md, "Sweeps").
#include "children.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "sweep_mpi.hpp"
#include "sweep_progress.hpp"
#include "sweep_results.hpp"
#include "sweep_spec.hpp"
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_sweep_signal(int sig) { g_signal = sig; }

using Clock = std::chrono::steady_clock;

// How a point's child is started: `factorysim run SCENARIO --set ... -o TMP`, in `cwd` when not empty.
struct Launch {
  std::string exe, scenario, cwd;
  std::string request_rows; // each point's requests.csv (run --request-rows)
  stdfs::path out;
};

struct Running {
  SweepPoint* p;
  stdfs::path tmp;
  Clock::time_point start;
  bool timed_out = false;
};

stdfs::path tmp_dir(const stdfs::path& out, const SweepPoint& p) { return out / "points" / (".tmp-" + p.id); }

// The child's one-line error: the last line of its log that starts with "error:", else its last line.
std::string child_error(const stdfs::path& log)
{
  std::ifstream in(log);
  std::string line, last, err;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("error:", 0) == 0) err = line;
  }
  return err.empty() ? last : err;
}

// Writes point.json into the point's staging folder and moves the folder into place.
void finish_point(const SweepSpec& sw, const SweepPoint& p, const stdfs::path& tmp, const stdfs::path& out,
                  const std::string& status, const std::string& error, double wall_s)
{
  Json axes = Json::object(), labels = Json::object();
  for (size_t a = 0; a < sw.axes.size(); ++a) {
    axes[sw.axes[a].path] = sw.axes[a].values[p.pick[a]];
    labels[sw.axes[a].path] = sw.axes[a].label(p.pick[a]);
  }
  const Json pj = {{"id", p.id},       {"index", p.index}, {"axes", axes},
                   {"labels", labels}, {"status", status}, {"error", error},
                   {"wall_s", wall_s}, {"chips", p.chips}, {"it_power_kw_estimate", p.it_power_kw},
                   {"sets", p.sets},   {"sweep", sw.name}};
  write_file(tmp / "point.json", pj.dump(2) + "\n");
  write_file(tmp / "scenario.json", p.doc.dump(2) + "\n");
  const stdfs::path dst = point_dir(out, p);
  std::error_code ec;
  stdfs::remove_all(dst, ec); // a point that failed before
  stdfs::rename(tmp, dst, ec);
  if (ec) throw OutputError("cannot move " + tmp.string() + " to " + dst.string() + ": " + ec.message());
}

pid_t spawn_point(const Launch& L, const SweepSpec& sw, const SweepPoint& p, const stdfs::path& tmp)
{
  std::vector<std::string> args = {L.exe, "run", L.scenario};
  for (const std::string& s : p.sets)
    args.insert(args.end(), {"--set", s});
  for (const std::string& pl : sw.placements)
    args.insert(args.end(), {"--placement", pl});
  args.insert(args.end(), {"-j", "1", "--request-rows", L.request_rows, "-o", stdfs::absolute(tmp).string()});
  std::vector<char*> argv;
  for (std::string& s : args)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  // The child is no MPI rank: without the launcher's variables, `factorysim run` does not take itself for one.
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    if (!v.starts_with("OMPI_COMM_WORLD_") && !v.starts_with("PMI_") && !v.starts_with("PMIX_")) env.push_back(*e);
  }
  env.push_back(nullptr);
  const std::string log = stdfs::absolute(tmp / "run.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (!L.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, L.cwd.c_str());
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, dflt;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGINT);
  sigaddset(&dflt, SIGTERM);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dflt);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // posix_spawn, not fork: safe after MPI_Init (no copy of the MPI library's state runs any code).
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, L.exe.c_str(), &fa, &at, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) throw std::runtime_error(std::string("cannot start ") + L.exe + ": " + std::strerror(rc));
  return pid;
}

// Runs `todo`, `jobs` at a time; returns the number of failed points (the signal, if any, is in g_signal).
size_t run_points(const SweepSpec& sw, const std::vector<SweepPoint*>& todo, const Launch& L, int jobs,
                  double timeout_s, SweepProgress& progress)
{
  std::map<pid_t, Running> running;
  size_t next = 0, failed = 0;
  while ((next < todo.size() || !running.empty()) && !g_signal) {
    while (running.size() < size_t(jobs) && next < todo.size() && !g_signal) {
      SweepPoint* p = todo[next++];
      const stdfs::path tmp = tmp_dir(L.out, *p);
      std::error_code ec;
      stdfs::remove_all(tmp, ec);
      stdfs::create_directories(tmp, ec);
      if (ec) throw OutputError(tmp.string() + ": cannot create: " + ec.message());
      running[spawn_point(L, sw, *p, tmp)] = {p, tmp, Clock::now()};
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      if (done < 0 && errno != EINTR && errno != ECHILD) break;
      for (auto& [pid, r] : running)
        if (timeout_s > 0 && !r.timed_out &&
            std::chrono::duration<double>(Clock::now() - r.start).count() > timeout_s) {
          r.timed_out = true;
          ::kill(pid, SIGTERM);
        }
      progress.tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    auto it = running.find(done);
    if (it == running.end()) continue;
    Running r = it->second;
    running.erase(it);
    if (g_signal) break; // it may have died of the signal too: not a result
    const double wall = std::chrono::duration<double>(Clock::now() - r.start).count();
    std::string st = "ok", err;
    if (r.timed_out) {
      st = "failed";
      err = "timed out after " + format_number(timeout_s) + " s";
    } else if (!WIFEXITED(status)) {
      st = "failed";
      err = "crashed (signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0) + ")";
    } else if (WEXITSTATUS(status) != 0) {
      st = "failed";
      err = child_error(r.tmp / "run.log");
      if (err.empty()) err = "exit code " + std::to_string(WEXITSTATUS(status));
    }
    failed += st != "ok";
    finish_point(sw, *r.p, r.tmp, L.out, st, err, wall);
    progress.finished(*r.p, st, err, wall);
  }
  if (g_signal) {
    for (auto const& [pid, r] : running)
      ::kill(pid, SIGTERM);
    for (auto const& [pid, r] : running) {
      waitpid(pid, nullptr, 0);
      std::error_code ec;
      stdfs::remove_all(r.tmp, ec);
    }
  }
  return failed;
}

bool finished(const stdfs::path& dir)
{
  try {
    const Json pj = read_json_file((dir / "point.json").string());
    return pj.value("status", "") == "ok" || pj.value("status", "") == "infeasible";
  } catch (const InputError&) {
    return false;
  }
}

// Rank 0 before anything runs: the folder, a lock against a second sweep, no stale staging folders, the sweep's
// definition. Returns the lock's file descriptor.
int prepare_out(const SweepSpec& sw, const SweepExpansion& ex, const stdfs::path& out)
{
  std::error_code ec;
  stdfs::create_directories(out / "points", ec);
  if (ec) throw OutputError(out.string() + ": cannot create: " + ec.message());
  const stdfs::path lock = out / ".sweep.lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError(lock.string() + ": cannot create: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw OutputError(out.string() + ": another sweep is writing into this folder");
  for (auto const& e : stdfs::directory_iterator(out / "points"))
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) stdfs::remove_all(e.path(), ec);
  Json axes = Json::array();
  for (const SweepAxis& a : sw.axes)
    axes.push_back({{"path", a.path}, {"values", a.values}, {"labels", a.labels}});
  Json points = Json::array();
  for (const SweepPoint& p : ex.points)
    points.push_back({{"index", p.index}, {"id", p.id}});
  const Json doc = {{"name", sw.name},
                    {"description", sw.description},
                    {"file", sw.file},
                    {"base", sw.base_file},
                    {"sets", sw.sets},
                    {"placements", sw.placements},
                    {"axes", axes},
                    {"product", ex.product},
                    {"filtered", ex.filtered},
                    {"points", points},
                    {"definition", sw.definition}};
  write_file(out / "sweep.json", doc.dump(1) + "\n");
  if (sw.base_file.empty()) write_file(out / "base_scenario.json", sw.base.dump(2) + "\n");
  return fd;
}

} // namespace

int cmd_sweep(const SweepArgs& a)
{
  // Everything a user can get wrong is checked before any folder exists: exit 2 and nothing written.
  const SweepSpec sw = load_sweep(a.file, a.sets);
  SweepExpansion ex = expand_sweep(sw);
  parse_request_rows(a.request_rows); // checked here, used by each point's run
  const stdfs::path out = a.out;
  std::error_code ec;
  if (stdfs::exists(out, ec) && !stdfs::is_directory(out, ec))
    throw InputError("-o " + a.out + ": exists and is not a folder");

  MpiWorld world = mpi_start();
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const int per_node = local ? std::max(1, std::atoi(local)) : 1;
  const int jobs = a.jobs > 0 ? a.jobs : int(std::max(1u, std::thread::hardware_concurrency() / unsigned(per_node)));
  int lock_fd = -1;
  int prep_failed = 0;
  if (world.rank == 0) {
    try {
      lock_fd = prepare_out(sw, ex, out);
    } catch (const OutputError& e) {
      std::cerr << "error: " << e.what() << "\n";
      prep_failed = 1;
    }
  }
  if (mpi_max(world, prep_failed)) {
    mpi_stop(world);
    return 1;
  }

  Launch L;
  L.request_rows = a.request_rows;
  L.exe = stdfs::read_symlink("/proc/self/exe", ec).string();
  if (ec) L.exe = "/proc/self/exe";
  L.out = stdfs::absolute(out);
  if (sw.base_file.empty()) {
    L.scenario = (L.out / "base_scenario.json").string();
    L.cwd = stdfs::absolute(stdfs::path(sw.file)).parent_path().string(); // relative paths: from the sweep file
  } else {
    L.scenario = sw.base_file;
  }

  // This rank's share: every size-th point; finished ones are skipped, infeasible ones recorded without a run.
  std::vector<SweepPoint*> todo;
  size_t done_before = 0, infeasible = 0;
  for (size_t k = 0; k < ex.points.size(); ++k) {
    SweepPoint& p = ex.points[k];
    infeasible += p.status == "infeasible";
    if (int(k % size_t(world.size)) != world.rank) continue;
    if (finished(point_dir(out, p))) {
      ++done_before;
      continue;
    }
    if (p.status == "infeasible") {
      const stdfs::path tmp = tmp_dir(out, p);
      stdfs::create_directories(tmp, ec);
      finish_point(sw, p, tmp, out, "infeasible", p.error, 0);
      continue;
    }
    todo.push_back(&p);
  }
  if (world.rank == 0) {
    std::cout << "sweep " << sw.name << ": " << ex.points.size() << " points (" << ex.product << " combinations, "
              << ex.filtered << " filtered out, " << infeasible << " infeasible)";
    if (world.size > 1) std::cout << " over " << world.size << " MPI ranks";
    std::cout << ", " << jobs << " at a time" << (world.size > 1 ? " per rank" : "") << "; " << done_before
              << " already done" << (world.size > 1 ? " on rank 0" : "") << "\n";
    std::cout.flush();
  }

  struct sigaction sa {};
  sa.sa_handler = on_sweep_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  SweepProgress progress(sw, todo.size(), world.size > 1 ? world.rank : -1);
  size_t failed = 0;
  try {
    failed = run_points(sw, todo, L, jobs, a.timeout_s, progress);
  } catch (...) {
    progress.end();
    throw;
  }
  progress.end();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (g_signal) {
    const int sig = g_signal;
    std::cerr << "interrupted (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): finished points are kept in "
              << out.string() << "/points; run the same command to resume\n";
    return 128 + sig; // no MPI_Finalize: the other ranks are being stopped too
  }
  const int any_failed = mpi_max(world, failed > 0 ? 1 : 0);
  int rc = any_failed ? 1 : 0;
  if (world.rank == 0) {
    try {
      const std::vector<SweepRow> rows = collect_rows(sw, ex.points, out);
      write_results(sw, rows, out);
      size_t ok = 0, bad = 0, missed = 0;
      for (const SweepRow& r : rows) {
        ok += r.status == "ok";
        bad += r.status == "failed";
        missed += r.status == "ok" && !within_slo(r);
      }
      std::cout << "results: " << rows.size() << " rows (" << ok << " ran, " << missed << " missing their SLOs, " << bad
                << " failed, " << rows.size() - ok - bad << " infeasible) in " << (out / "results.csv").string()
                << "\n";
      if (a.target_qps > 0) std::cout << write_ranking(sw, rows, a.target_qps, out);
      if (bad) std::cerr << "warning: " << bad << " rows failed: see status and error in results.csv\n";
    } catch (const OutputError& e) {
      std::cerr << "error: cannot write the results: " << e.what() << "\n";
      rc = 1;
    }
  }
  if (lock_fd >= 0) ::close(lock_fd);
  mpi_stop(world);
  return rc;
}

} // namespace fs::cli
