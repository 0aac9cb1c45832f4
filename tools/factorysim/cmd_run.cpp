// `factorysim run`: parse and check everything once, then simulate each placement in its own child process
// (SimGrid's engine is a process-wide singleton, docs/design.md, "One simulation per process"), then report
// side by side. Results appear in the output folder only when every placement succeeded. Without a scenario file,
// the built-in default study: each placement at its capacity (cmd_capacity.cpp).
#include "children.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "scenario.hpp"
#include "sweep_mpi.hpp"
#include <iostream>
#include <thread>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

int run_default_study(const RunArgs& a); // cmd_capacity.cpp

namespace {

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

// Merges the placements' trace_events.json (one process each) into one Chrome trace, written to a temporary file
// beside `path`; returns that file's name. The parts are removed from the staging folder.
stdfs::path merge_trace(const ResultDir& dir, const std::vector<std::string>& folders, const std::string& path)
{
  std::string events;
  long dropped = 0, cap = 0;
  for (const std::string& f : folders) {
    const stdfs::path part = dir.staging() / f / "trace_events.json";
    const Json j = read_json_file(part.string());
    for (const Json& e : j["events"])
      events += (events.empty() ? "" : ",\n") + e.dump();
    dropped += j["dropped"].get<long>();
    cap = j["max_events"].get<long>();
    stdfs::remove(part);
  }
  const Json meta = {{"producer", "factorysim run --trace"},
                     {"max_events_per_placement", cap},
                     {"dropped_events", dropped},
                     {"note", dropped > 0 ? "truncated: each placement keeps its first max_events events (metadata "
                                            "always); raise --trace-events"
                                          : "complete"}};
  const stdfs::path tmp = stdfs::path(path).string() + ".tmp-" + std::to_string(::getpid());
  write_file(tmp, "{\"displayTimeUnit\": \"ms\", \"metadata\": " + meta.dump() + ",\n\"traceEvents\": [\n" + events +
                      "\n]}\n");
  return tmp;
}

} // namespace

int finish_run(const Scenario& s, ResultDir& dir, const std::vector<std::string>& names,
               const std::vector<std::string>& folders, const RunReport& how)
{
  std::vector<std::string> texts, warnings;
  bool healthy = true;
  stdfs::path trace_tmp;
  try {
    for (size_t k = 0; k < names.size(); ++k) {
      Json summary = read_json_file((dir.staging() / folders[k] / "summary.json").string());
      texts.push_back(summary.dump());
      const std::string w = health(names[k], summary);
      if (!w.empty()) warnings.push_back(w);
      healthy = healthy && w.empty();
    }
    const std::string table = format_table(names, texts);
    if (!how.trace.empty()) trace_tmp = merge_trace(dir, folders, how.trace);
    if (dir.keeps()) {
      write_file(dir.staging() / "resolved_scenario.json", s.resolved.dump(2) + "\n");
      write_file(dir.staging() / "comparison.md", "# " + s.name + "\n\n" + how.preface + "\n```\n" + table + "```\n");
      for (auto const& [name, content] : how.extra)
        write_file(dir.staging() / name, content);
      dir.commit();
      if (how.no_rows)
        for (const std::string& f : folders)
          stdfs::remove(dir.out() / f / "requests.csv"); // stale: from an earlier run of this folder
    }
    if (!trace_tmp.empty()) {
      std::error_code ec;
      stdfs::rename(trace_tmp, how.trace, ec);
      if (ec) throw OutputError(how.trace + ": cannot write the trace: " + ec.message());
    }
    std::cout << "scenario " << s.name << " (" << s.model.name << ", " << s.workload.type << " workload)\n"
              << how.preface << table;
    if (dir.keeps()) std::cout << "results in " << dir.out().string() << "/\n";
    if (!how.trace.empty()) std::cout << "trace in " << how.trace << " (open in ui.perfetto.dev or chrome://tracing)\n";
  } catch (const OutputError& e) {
    std::cerr << "error: cannot write the results: " << e.what() << "\n";
    dir.remove_staging();
    if (!trace_tmp.empty()) stdfs::remove(trace_tmp);
    return 1;
  } catch (const InputError& e) {
    std::cerr << "error: cannot read back a result: " << e.what() << "\n";
    dir.remove_staging();
    if (!trace_tmp.empty()) stdfs::remove(trace_tmp);
    return 1;
  }
  for (const std::string& w : warnings)
    std::cerr << w << "\n";
  return (how.strict && !healthy) ? 3 : 0;
}

int cmd_run(const RunArgs& a)
{
  // Several ranks: no fork after MPI_Init, each rank simulates its pods in-process. One task of a launcher (e.g. a
  // Slurm step's srun, which sets PMI variables for every task) runs as without one.
  if (mpi_launched() && mpi_launched_size() > 1) return cmd_run_mpi(a);
  if (a.scenario.empty()) return run_default_study(a);
  // Everything a user can get wrong is checked here, before any folder exists: exit 2 and nothing written.
  Scenario s = load_scenario(a.scenario, a.sets);
  const long rows = parse_request_rows(a.request_rows);
  if (!a.mode.empty()) {
    s.sim.mode = a.mode;
    s.resolved["sim"]["mode"] = a.mode;
  }
  const std::vector<size_t> chosen = chosen_placements(s, a.placements);
  std::vector<std::string> names;
  for (size_t idx : chosen)
    names.push_back(s.placements[idx].name);
  const std::vector<std::string> folders = folder_names(names);

  ResultDir dir(a.out_dir);
  const int jobs = a.jobs > 0 ? a.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  const long trace = a.trace.empty() ? 0 : a.trace_events;
  int worst = 0;
  std::vector<std::string> errors;
  {
    Children kids(jobs);
    size_t next = 0;
    while ((next < chosen.size() || kids.busy()) && !kids.interrupted()) {
      while (kids.can_start() && next < chosen.size()) {
        const size_t k = next++;
        const stdfs::path d = dir.staging() / folders[k];
        kids.start(
            k, [&s, &chosen, k, d, trace, rows](int err_fd) { return simulate(s, chosen[k], d, err_fd, trace, rows); });
      }
      const auto done = kids.wait();
      if (!done) break;
      if (done->crashed)
        errors.push_back("error: placement \"" + names[done->tag] + "\" " + done->error);
      else if (done->code != 0 && !done->error.empty())
        errors.push_back(done->error);
      worst = std::max(worst, done->code);
    }
    if (kids.interrupted()) {
      const int code = kids.stop_all();
      dir.remove_staging();
      return code;
    }
  }
  if (worst != 0) {
    // One line: the first failure, and how many more placements failed (a full disk fails them all).
    if (!errors.empty())
      std::cerr << errors.front()
                << (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more placements failed)" : "")
                << "\n";
    dir.remove_staging();
    return worst;
  }
  RunReport how;
  how.trace = a.trace;
  how.strict = a.strict;
  how.no_rows = rows == 0;
  return finish_run(s, dir, names, folders, how);
}

} // namespace fs::cli
