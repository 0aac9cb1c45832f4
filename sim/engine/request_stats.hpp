// Per-request metrics of a run, accumulated as each request leaves the system (streaming): a run keeps only the
// requests in flight, whatever its length (docs/metrics.md, "Streaming runs"). Ranks of a run split over
// processes merge theirs (merge, to_json/from_json).
#pragma once
#include "metrics.hpp"
#include "request.hpp"
#include "scenario.hpp"
#include <boost/histogram.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fs {

struct Percentiles {
  double mean = 0, p1 = 0, p10 = 0, p50 = 0, p90 = 0, p99 = 0;
  long n = 0;
};
// Linear interpolation between closest ranks (numpy's default); zeros when empty.
Percentiles percentiles(std::vector<double> xs);

// Percentiles of a stream of values >= 0. Exact (percentiles() above) while it holds at most `exact_up_to`
// values; past that, read from a histogram with logarithmic bins 1% wide (Boost.Histogram) from 1e-9 to 1e15:
// each percentile is then within 0.5% (relative) of a value of the stream whose rank is within one of the exact
// percentile's rank (the interpolation between the two closest ranks is done on bin centres). Mean and n are
// always exact. Values below 1e-9 count as 0.
class Quantiles {
public:
  explicit Quantiles(long exact_up_to = default_exact_up_to);
  void add(double x);
  void merge(const Quantiles& o);
  Percentiles result() const;
  long size() const { return n_; }
  bool exact() const { return !hist_; }
  Json to_json() const;
  static Quantiles from_json(const Json& j);

  static constexpr long default_exact_up_to = 1'000'000;
  static constexpr double bin_ratio = 1.01; // upper over lower edge of a bin
  static constexpr double lowest = 1e-9, highest = 1e15;

private:
  using Axis = boost::histogram::axis::regular<double, boost::histogram::axis::transform::log>;
  using Hist = boost::histogram::histogram<std::tuple<Axis>, boost::histogram::dense_storage<double>>;
  static Hist make_hist();
  void to_hist();                  // leaves exact mode
  double rank_value(long k) const; // histogram mode: the (0-based) k-th smallest value's bin centre

  long exact_up_to_;
  long n_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0;
  std::vector<double> values_; // exact mode
  std::optional<Hist> hist_;   // histogram mode
};

// Mean time to first token of the requests arriving in the first and the last fifth of the measured window,
// when the window's end is known only at the end (a makespan, a stop found during the run). Exact while it holds at
// most `exact_up_to` requests; past that, from 4,096 bins of arrival time (rebinned as the span grows): the fifths
// then include or exclude requests within one bin (1/2,048 of the span or less) of their edges.
class FifthMeans {
public:
  explicit FifthMeans(double start = 0, long exact_up_to = Quantiles::default_exact_up_to);
  void add(double arrival, double ttft);
  void merge(const FifthMeans& o);
  std::pair<double, double> means(const Window& w) const; // first fifth, last fifth (0 when none)
  Json to_json() const;
  static FifthMeans from_json(const Json& j);

private:
  void to_bins();
  void bin(double arrival, double sum, long n);
  double start_;
  long exact_up_to_;
  std::vector<std::pair<double, double>> exact_; // (arrival, ttft) in exact mode
  bool binned_ = false;
  double width_ = 0;                          // of a bin, seconds (binned mode)
  std::vector<std::pair<double, long>> bins_; // (sum of ttft, count) per bin from start_
};

// Everything summary.json reports per request. `add` takes each request once, when it finished or was dropped,
// with the measured window as known then: a window whose end is still open (+inf) ends after every arrival seen
// so far (docs/metrics.md explains why each count below is exact anyway).
class RequestStats {
public:
  explicit RequestStats(double window_start = 0, long exact_up_to = Quantiles::default_exact_up_to);
  void add(const Request& q, const Window& w, const SloConfig& slo, bool host_work);
  void merge(const RequestStats& o);
  bool exact() const; // every percentile exact (no metric past exact_up_to values)
  Json to_json() const;
  static RequestStats from_json(const Json& j);

  long arrived = 0, completed = 0, dropped = 0;
  long measured = 0;        // completed, arrived inside the window
  long good = 0;            // of those, meeting every SLO
  long backlog = 0;         // of those, without a first token when the window closed
  long preemptions = 0;     // over completed requests
  double prompt_tokens = 0; // input tokens of the requests not dropped
  std::map<std::string, long> drop_reasons;
  Quantiles ttft, tpot, e2e, decode_wait, kv_pull, user_speed, host_queue, host_work;
  Quantiles transfer_bytes; // completed requests whose KV moved, whole run
  double transfer_bytes_total = 0;
  FifthMeans fifths;
};

double tpot(const Request& r);
bool meets_slo(const Request& r, const SloConfig& slo);

} // namespace fs
