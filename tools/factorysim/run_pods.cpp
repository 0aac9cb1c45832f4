// `factorysim run` under mpirun (docs/design.md, "Pods"): one placement, its pods split over the ranks. Every rank
// parses the scenario, simulates its pods (p % ranks == rank) in its own engine in-process (no fork after MPI_Init),
// exchanging the pods' loads at each multiple of pods.sync_s; rank 0 merges the ranks' results into one summary, and
// their requests.csv rows (each rank writes its own to a temporary file as requests leave) into one requests.csv.
#include "children.hpp"
#include "commands.hpp"
#include "factory.hpp"
#include "output.hpp"
#include "pods.hpp"
#include "scenario_pods.hpp"
#include "summary.hpp"
#include "sweep_mpi.hpp"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <type_traits>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

class RankSync : public PodSync {
public:
  explicit RankSync(const MpiWorld& w) : w_(w) {}
  int rank() const override { return w_.rank; }
  int ranks() const override { return w_.size; }
  void sum(std::vector<double>& v) override { mpi_sum(w_, v); }
  bool all(bool mine) override { return mpi_all(w_, mine); }

private:
  const MpiWorld& w_;
};

// What a rank sends rank 0 besides its request metrics (all plain numbers: sent as bytes between copies of one
// binary), followed by its instances' stats.
struct RankPart {
  Collector collector;
  KvHierarchyReport kv;
  double wall_s = 0, simulated_s = 0;
  long events = 0, peak_requests_held = 0, arrived = 0, kv_pulls_lone = 0, kv_pulls_shared = 0, instants_ahead = 0,
       instants_ahead_of_pulls = 0;
};
static_assert(std::is_trivially_copyable_v<RankPart> && std::is_trivially_copyable_v<InstanceStats>);

template <class T> void put(std::string& out, const T& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
template <class T> T get(const std::string& in, size_t& at)
{
  if (at + sizeof(T) > in.size()) throw std::runtime_error("a rank's result is truncated");
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

std::string pack(const RunResult& r)
{
  RankPart p{r.collector,
             r.kv,
             r.wall_s,
             r.simulated_s,
             r.events,
             r.peak_requests_held,
             r.stats.arrived,
             r.kv_pulls_lone,
             r.kv_pulls_shared,
             r.instants_ahead,
             r.instants_ahead_of_pulls};
  std::string out;
  put(out, p);
  for (const InstanceReport& ir : r.instances)
    put(out, ir.stats);
  return out;
}

// Rank 0's result with every rank's merged in: sums of what the ranks did, the longest wall and simulated time,
// each instance's stats from the rank that ran its pod, the request metrics merged (RequestStats::merge).
void merge(RunResult& r, const std::vector<std::string>& parts, const std::vector<std::string>& stats, int ranks,
           Json& per_rank)
{
  for (int k = 0; k < ranks; ++k) {
    size_t at = 0;
    const std::string& b = parts[size_t(k)];
    const auto p = get<RankPart>(b, at);
    for (InstanceReport& ir : r.instances) {
      const auto st = get<InstanceStats>(b, at);
      if (ir.pod % ranks == k) ir.stats = st;
    }
    per_rank["wall_s"].push_back(p.wall_s);
    per_rank["requests"].push_back(p.arrived);
    per_rank["events"].push_back(p.events);
    if (k == 0) continue;
    r.collector.input_tokens += p.collector.input_tokens;
    r.collector.output_tokens += p.collector.output_tokens;
    r.collector.window.end = std::max(r.collector.window.end, p.collector.window.end);
    r.events += p.events;
    r.kv_pulls_lone += p.kv_pulls_lone;
    r.kv_pulls_shared += p.kv_pulls_shared;
    r.instants_ahead += p.instants_ahead;
    r.instants_ahead_of_pulls += p.instants_ahead_of_pulls;
    r.peak_requests_held += p.peak_requests_held;
    r.wall_s = std::max(r.wall_s, p.wall_s);
    r.simulated_s = std::max(r.simulated_s, p.simulated_s);
    r.kv.lookups += p.kv.lookups;
    r.kv.cached_tokens += p.kv.cached_tokens;
    r.kv.restored_tokens += p.kv.restored_tokens;
    for (size_t t = 0; t < r.kv.tiers.size(); ++t) {
      r.kv.tiers[t].hit_chunks += p.kv.tiers[t].hit_chunks;
      r.kv.tiers[t].loaded_bytes += p.kv.tiers[t].loaded_bytes;
      r.kv.tiers[t].stored_chunks += p.kv.tiers[t].stored_chunks;
      r.kv.tiers[t].evicted_chunks += p.kv.tiers[t].evicted_chunks;
    }
    r.stats.merge(RequestStats::from_json(Json::parse(stats[size_t(k)])));
  }
}

// This rank's requests.csv rows, written as its requests leave, into a temporary file (gone when the process ends).
class RankRows {
public:
  explicit RankRows(long every) : file_(std::tmpfile())
  {
    if (!file_)
      throw OutputError(std::string("a temporary file for this rank's requests.csv rows: ") + std::strerror(errno));
    csv_.emplace([this](const std::string& chunk) { write(chunk); }, every);
  }
  ~RankRows()
  {
    if (file_) std::fclose(file_);
  }
  RankRows(const RankRows&) = delete;
  RankRows& operator=(const RankRows&) = delete;
  RequestCsv& csv() { return *csv_; }
  std::FILE* file() { return file_; }
  // Rank 0 reads its own part back in pieces (from the start: after mpi_send_file's rewind).
  std::string next()
  {
    std::string piece(size_t(1) << 20, '\0');
    piece.resize(std::fread(piece.data(), 1, piece.size(), file_));
    if (piece.empty() && std::ferror(file_)) throw OutputError("this rank's requests.csv rows: cannot read them back");
    return piece;
  }

private:
  void write(const std::string& chunk)
  {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size() || std::fflush(file_) != 0)
      throw OutputError(std::string("this rank's requests.csv rows: ") + std::strerror(errno));
  }
  std::FILE* file_;
  std::optional<RequestCsv> csv_;
};

// Rank 0: the ranks' rows merged by request id into `folder`/requests.csv. The other ranks wait to send theirs: a
// failure takes what is left of every rank's rows before it is thrown, and one before the receivers exist (memory)
// ends every rank.
void merge_rows(const MpiWorld& w, RankRows& mine, const std::function<stdfs::path()>& folder)
{
  std::vector<std::unique_ptr<MpiFileReceiver>> from;
  try {
    for (int k = 1; k < w.size; ++k)
      from.push_back(std::make_unique<MpiFileReceiver>(w, k));
  } catch (const std::exception& e) {
    std::cerr << "error: cannot take the ranks' requests.csv rows: " << e.what() << "\n";
    mpi_abort(w, 1);
  }
  try {
    const stdfs::path dir = folder();
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) throw OutputError(dir.string() + ": cannot create: " + ec.message());
    CheckedFile out(dir / "requests.csv");
    merge_request_rows(
        size_t(w.size), [&](size_t k) { return k == 0 ? mine.next() : from[k - 1]->next(); },
        [&](const std::string& chunk) { out.write(chunk); });
    out.close();
  } catch (...) {
    for (auto& f : from)
      f->drain();
    throw;
  }
}

} // namespace

int cmd_run_mpi(const RunArgs& a)
{
  MpiWorld w = mpi_start();
  Scenario s;
  size_t idx = 0;
  std::unique_ptr<ResultDir> dir;
  std::unique_ptr<RankRows> rows;
  int failed = 0;
  try {
    if (a.scenario.empty())
      throw InputError("an MPI run splits one scenario's pods over its ranks: name a scenario file");
    s = load_scenario(a.scenario, a.sets);
    if (!a.mode.empty()) {
      s.sim.mode = a.mode;
      s.resolved["sim"]["mode"] = a.mode;
    }
    if (const long every = parse_request_rows(a.request_rows); every > 0) rows = std::make_unique<RankRows>(every);
    if (a.placements.size() != 1) {
      std::string known;
      for (const PlacementConfig& pc : s.placements)
        known += (known.empty() ? "" : ", ") + pc.name;
      throw InputError("an MPI run simulates one placement, its pods split over the ranks: name it with one "
                       "--placement (" +
                       s.file + " has: " + known + ")");
    }
    idx = chosen_placements(s, a.placements).front();
    if (s.pods.count < w.size)
      throw InputError(s.file + ": pods.count = " + std::to_string(s.pods.count) + " is fewer pods than the " +
                       std::to_string(w.size) + " MPI ranks (a rank simulates the pods p with p % ranks == rank)");
    if (w.size > 1 && s.pods.live())
      throw InputError(s.file + ": pods.sync_s = 0 (live loads) needs one process: give pods.sync_s > 0 (load "
                                "snapshots every sync_s seconds) or pods.router \"round_robin\" (a static split)");
    if (!a.trace.empty()) throw InputError("--trace: not available for an MPI run");
    if (w.rank == 0) dir = std::make_unique<ResultDir>(a.out_dir);
    if (const std::string shared = pods_shared_switch(s); w.rank == 0 && w.size > 1 && !shared.empty())
      std::cerr << "warning: " << shared << ": its uplink carries several pods' traffic, of which each rank "
                << "simulates its own pods' only (make each pool's servers per pod a multiple of the servers under a "
                << "switch for an exact split)\n";
  } catch (const InputError& e) {
    if (w.rank == 0) std::cerr << "error: " << e.what() << "\n";
    failed = 2;
  } catch (const std::exception& e) { // the output folder (rank 0's): the other ranks wait in the exchange below
    std::cerr << "error: " << e.what() << "\n";
    failed = 1;
  }
  // Input errors are the same on every rank (each parsed the same files), but the output folder is rank 0's alone.
  failed = mpi_max(w, failed);
  if (failed) {
    mpi_stop(w);
    return failed;
  }
  RankSync sync(w);
  RunOptions opt;
  opt.pods = &sync;
  if (rows) opt.rows = &rows->csv();
  RunResult r;
  try {
    r = run_placement(s, idx, opt);
    if (rows) {
      rows->csv().finish();
      mpi_send_file(w, rows->file()); // rank 0 takes them below
    }
  } catch (const std::exception& e) {
    std::cerr << "error: rank " << w.rank << ": placement \"" << s.placements[idx].name << "\" failed: " << e.what()
              << "\n";
    mpi_abort(w, 1); // the other ranks may wait in a load exchange
  }
  std::string rows_error;
  if (w.rank == 0 && rows) {
    try {
      merge_rows(w, *rows, [&] { return dir->staging() / folder_names({s.placements[idx].name})[0]; });
    } catch (const std::exception& e) {
      rows_error = e.what();
    }
  }
  // After the rows: a rank sending its rows blocks until rank 0 took them, so rank 0 must not wait elsewhere first.
  const std::vector<std::string> parts = mpi_gather(w, pack(r));
  const std::vector<std::string> stats = mpi_gather(w, r.stats.to_json().dump());
  int code = 0;
  if (w.rank == 0) {
    Json per_rank = {{"wall_s", Json::array()}, {"requests", Json::array()}, {"events", Json::array()}};
    merge(r, parts, stats, w.size, per_rank);
    const std::string name = s.placements[idx].name;
    const std::vector<std::string> folders = folder_names({name});
    try {
      Json summary = make_summary(s, s.placements[idx], r);
      summary["sim"]["ranks"] = w.size;
      summary["sim"]["per_rank"] = per_rank;
      const stdfs::path d = dir->staging() / folders[0];
      std::error_code ec;
      stdfs::create_directories(d, ec);
      if (ec) throw OutputError(d.string() + ": cannot create: " + ec.message());
      write_file(d / "summary.json", summary.dump(2) + "\n");
      write_file(d / "resolved_scenario.json", s.resolved.dump(2) + "\n");
      if (!rows_error.empty()) throw OutputError(rows_error);
    } catch (const OutputError& e) {
      std::cerr << "error: cannot write the results: " << e.what() << "\n";
      code = 1;
    } catch (const std::exception& e) { // e.g. the merged counts fail the conservation check
      std::cerr << "error: placement \"" << name << "\": " << e.what() << "\n";
      code = 1;
    }
    if (code == 0) {
      RunReport how;
      how.strict = a.strict;
      how.no_rows = !rows;
      std::string walls;
      for (const Json& x : per_rank["wall_s"]) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", x.get<double>());
        walls += (walls.empty() ? "" : ", ") + std::string(buf);
      }
      how.preface = std::to_string(s.pods.count) + " pods over " + std::to_string(w.size) + " MPI ranks (" +
                    (s.pods.router == "round_robin" ? std::string("static round-robin split")
                                                    : "loads exchanged every " + format_number(s.pods.sync_s) + " s") +
                    "); wall s per rank: " + walls + "\n";
      code = finish_run(s, *dir, {name}, folders, how);
    }
  }
  dir.reset();
  code = mpi_max(w, code);
  mpi_stop(w);
  return code;
}

} // namespace fs::cli
