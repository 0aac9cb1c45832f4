// Metrics of a finished run (docs/metrics.md): summary.json and requests.csv.
#pragma once
#include "factory.hpp"
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>

namespace fs {

// Throws std::runtime_error when requests are neither completed nor dropped (conservation).
Json make_summary(const Scenario& s, const PlacementConfig& pc, const RunResult& r);
// requests.csv, written as requests leave the system, in id (arrival) order: a row waits for the rows before it.
// `every` > 1 keeps every every-th request only (ids 0, every, 2 x every, ...). `sink` gets pieces of about
// 64 KB.
class RequestCsv : public RequestSink {
public:
  explicit RequestCsv(std::function<void(const std::string&)> sink, long every = 1);
  void request_done(const Request& r, long session) override;
  void request_elsewhere(long id) override; // no row here: the ids after it need not wait for it
  // Writes what is left; throws std::runtime_error when a row never came (a request that did not leave).
  void finish();

private:
  void put(long id, const std::string& row); // in id order: waits for the rows before it
  void grow(size_t ahead);                   // the ring holds slot `ahead` past its head
  void flush_if_full();
  std::function<void(const std::string&)> sink_;
  long every_;
  long next_ = 0; // id of the next row to write
  // Rows of later ids, done first: slot (head_ + (id - next_) / every_) mod the ring's size (a power of two). A
  // ring, not a map: as many rows wait as requests finish while an older one is in flight (thousands in a large
  // factory), and each insert into a tree walked cold nodes and allocated. Its slots are fixed-size pieces of one
  // array, not strings: a row is copied into its slot without an allocation, and the rows that leave together when an
  // old request finishes lie one after the other. A row too long for a slot (long names or drop reasons) waits in
  // `long_` instead.
  static constexpr size_t slot_bytes = 256;
  static constexpr uint16_t in_long = UINT16_MAX;
  std::vector<char> ring_;             // state_.size() x slot_bytes
  std::vector<uint16_t> state_;        // per slot: 0 no row; n + 1 a row of n bytes in the slot; in_long: in long_
  std::map<size_t, std::string> long_; // by slot
  size_t head_ = 0;
  long waiting_ = 0;
  std::string buf_, row_;
};
// The rows of requests.csv parts (each sorted by id, each with the header line first, as RequestCsv writes them) merged
// into one, sorted by id, with one header: the parts of a run split over MPI ranks. `next(k)` gives the next piece
// of part k (any size, cut anywhere), empty when it has no more; `sink` gets pieces of about a megabyte. Throws
// std::runtime_error on a part that is not such a file.
void merge_request_rows(size_t parts, const std::function<std::string(size_t)>& next,
                        const std::function<void(const std::string&)>& sink);
// sessions.csv (one row per session or agent task), the same way; nothing when the run has none.
void write_sessions_csv(const RunResult& r, const std::function<void(const std::string&)>& sink);

// Whether a run is healthy: "ok", "slo_missed" (SLOs set and fewer than 99% of the measured requests meet
// them) or "unstable" (the queue grows without bound: a backlog at the end of the window and time to first
// token still rising). A summary's "status" object.
Json run_status(const Scenario& s, const RunResult& r);

} // namespace fs
