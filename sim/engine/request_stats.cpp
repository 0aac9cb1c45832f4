#include "request_stats.hpp"
#include <algorithm>
#include <cmath>
#include <numeric>

namespace fs {

namespace {
// p1 ... p99 of p.n values whose k-th smallest (0-based) is at(k): linear interpolation between closest ranks.
template <class At> void interpolate(Percentiles& p, At&& at)
{
  auto q = [&](double f) {
    const double pos = f * double(p.n - 1);
    const long lo = long(std::floor(pos)), hi = std::min(lo + 1, p.n - 1);
    const double a = at(lo), b = at(hi);
    return a + (b - a) * (pos - double(lo));
  };
  p.p1 = q(0.01);
  p.p10 = q(0.1);
  p.p50 = q(0.5);
  p.p90 = q(0.9);
  p.p99 = q(0.99);
}
} // namespace

Percentiles percentiles(std::vector<double> xs)
{
  Percentiles p;
  p.n = long(xs.size());
  if (xs.empty()) return p;
  std::sort(xs.begin(), xs.end());
  p.mean = std::accumulate(xs.begin(), xs.end(), 0.0) / double(xs.size());
  interpolate(p, [&](long k) { return xs[size_t(k)]; });
  return p;
}

double tpot(const Request& r) { return (r.finish - r.first_token) / double(r.spec.output_tokens - 1); }

bool meets_slo(const Request& r, const SloConfig& slo)
{
  if (r.finish < 0) return false;
  if (slo.ttft_s > 0 && r.first_token - r.spec.arrival > slo.ttft_s) return false;
  if (slo.tpot_s > 0 && r.spec.output_tokens > 1 && tpot(r) > slo.tpot_s) return false;
  if (slo.e2e_s > 0 && r.finish - r.spec.arrival > slo.e2e_s) return false;
  return true;
}

// ---- Quantiles

Quantiles::Quantiles(long exact_up_to) : exact_up_to_(std::max(0L, exact_up_to)) {}

Quantiles::Hist Quantiles::make_hist()
{
  const auto bins = unsigned(std::ceil(std::log(highest / lowest) / std::log(bin_ratio)));
  // The upper edge is lowest x ratio^bins (>= highest), so that every bin is exactly `bin_ratio` wide.
  return boost::histogram::make_histogram_with(boost::histogram::dense_storage<double>(),
                                               Axis(bins, lowest, lowest * std::pow(bin_ratio, double(bins))));
}

void Quantiles::to_hist()
{
  hist_ = make_hist();
  for (double x : values_)
    (*hist_)(x);
  values_.clear();
  values_.shrink_to_fit();
}

void Quantiles::add(double x)
{
  x = std::max(0.0, x);
  min_ = n_ == 0 ? x : std::min(min_, x);
  max_ = n_ == 0 ? x : std::max(max_, x);
  ++n_;
  sum_ += x;
  if (hist_) {
    (*hist_)(x);
    return;
  }
  values_.push_back(x);
  if (long(values_.size()) > exact_up_to_) to_hist();
}

void Quantiles::merge(const Quantiles& o)
{
  if (o.n_ == 0) return;
  min_ = n_ == 0 ? o.min_ : std::min(min_, o.min_);
  max_ = n_ == 0 ? o.max_ : std::max(max_, o.max_);
  n_ += o.n_;
  sum_ += o.sum_;
  exact_up_to_ = std::min(exact_up_to_, o.exact_up_to_);
  if (o.hist_) {
    if (!hist_) to_hist();
    *hist_ += *o.hist_;
    return;
  }
  for (double x : o.values_)
    if (hist_)
      (*hist_)(x);
    else
      values_.push_back(x);
  if (!hist_ && long(values_.size()) > exact_up_to_) to_hist();
}

double Quantiles::rank_value(long k) const
{
  // The underflow bin holds the zeros; the overflow bin values past 1e15 (max_ stands for them).
  const auto& h = *hist_;
  const auto& ax = h.axis();
  double seen = h.at(-1);
  if (double(k) < seen) return min_;
  for (int i = 0; i < ax.size(); ++i) {
    seen += h.at(i);
    if (double(k) < seen) return std::clamp(std::sqrt(ax.bin(i).lower() * ax.bin(i).upper()), min_, max_);
  }
  return max_;
}

Percentiles Quantiles::result() const
{
  if (!hist_) return percentiles(values_);
  Percentiles p;
  p.n = n_;
  p.mean = sum_ / double(n_);
  interpolate(p, [&](long k) { return rank_value(k); });
  return p;
}

Json Quantiles::to_json() const
{
  Json j = {{"n", n_}, {"sum", sum_}, {"min", min_}, {"max", max_}, {"exact_up_to", exact_up_to_}};
  if (!hist_) {
    j["values"] = values_;
    return j;
  }
  Json bins = Json::array(); // [index, count] of the bins that hold something (-1: underflow)
  for (int i = -1; i <= hist_->axis().size(); ++i)
    if (hist_->at(i) > 0) bins.push_back({i, hist_->at(i)});
  j["bins"] = bins;
  return j;
}

Quantiles Quantiles::from_json(const Json& j)
{
  Quantiles q(j.at("exact_up_to").get<long>());
  q.n_ = j.at("n").get<long>();
  q.sum_ = j.at("sum").get<double>();
  q.min_ = j.at("min").get<double>();
  q.max_ = j.at("max").get<double>();
  if (j.contains("values")) {
    q.values_ = j.at("values").get<std::vector<double>>();
    return q;
  }
  q.hist_ = make_hist();
  for (const Json& b : j.at("bins"))
    q.hist_->at(b.at(0).get<int>()) = b.at(1).get<double>();
  return q;
}

// ---- FifthMeans

namespace {
constexpr size_t fifth_bins = 4096;
}

FifthMeans::FifthMeans(double start, long exact_up_to) : start_(start), exact_up_to_(std::max(0L, exact_up_to)) {}

void FifthMeans::bin(double arrival, double sum, long n)
{
  const double off = std::max(0.0, arrival - start_);
  if (width_ <= 0) width_ = std::max(off, 1e-3) * 2 / double(fifth_bins);
  while (off / width_ >= double(fifth_bins)) { // the span outgrew the bins: merge them in pairs
    for (size_t i = 0; i < fifth_bins / 2; ++i) {
      bins_[i].first = bins_[2 * i].first + bins_[2 * i + 1].first;
      bins_[i].second = bins_[2 * i].second + bins_[2 * i + 1].second;
    }
    std::fill(bins_.begin() + fifth_bins / 2, bins_.end(), std::pair<double, long>{0, 0});
    width_ *= 2;
  }
  auto& b = bins_[size_t(off / width_)];
  b.first += sum;
  b.second += n;
}

void FifthMeans::to_bins()
{
  binned_ = true;
  bins_.assign(fifth_bins, {0, 0});
  double last = start_;
  for (auto [a, t] : exact_)
    last = std::max(last, a);
  bin(last, 0, 0); // size the bins for the span seen so far
  for (auto [a, t] : exact_)
    bin(a, t, 1);
  exact_.clear();
  exact_.shrink_to_fit();
}

void FifthMeans::add(double arrival, double ttft)
{
  if (binned_) return bin(arrival, ttft, 1);
  exact_.emplace_back(arrival, ttft);
  if (long(exact_.size()) > exact_up_to_) to_bins();
}

void FifthMeans::merge(const FifthMeans& o)
{
  exact_up_to_ = std::min(exact_up_to_, o.exact_up_to_);
  if (o.binned_) {
    if (!binned_) to_bins();
    for (size_t i = 0; i < o.bins_.size(); ++i)
      if (o.bins_[i].second > 0) bin(start_ + (double(i) + 0.5) * o.width_, o.bins_[i].first, o.bins_[i].second);
    return;
  }
  for (auto [a, t] : o.exact_)
    add(a, t);
}

std::pair<double, double> FifthMeans::means(const Window& w) const
{
  const double fifth = w.length() / 5;
  if (binned_) { // a bin counts where its centre is
    double es = 0, ls = 0;
    long en = 0, ln = 0;
    for (size_t i = 0; i < bins_.size(); ++i) {
      const double a = start_ + (double(i) + 0.5) * width_;
      if (a <= w.start + fifth) es += bins_[i].first, en += bins_[i].second;
      if (a >= w.end - fifth) ls += bins_[i].first, ln += bins_[i].second;
    }
    return {en ? es / double(en) : 0.0, ln ? ls / double(ln) : 0.0};
  }
  std::vector<double> early, late; // the means as percentiles() takes them (summed in sorted order)
  for (auto [a, t] : exact_) {
    if (a <= w.start + fifth) early.push_back(t);
    if (a >= w.end - fifth) late.push_back(t);
  }
  return {percentiles(early).mean, percentiles(late).mean};
}

Json FifthMeans::to_json() const
{
  Json j = {{"start", start_}, {"exact_up_to", exact_up_to_}};
  if (!binned_) {
    Json e = Json::array();
    for (auto [a, t] : exact_)
      e.push_back({a, t});
    j["exact"] = e;
    return j;
  }
  j["width"] = width_;
  Json b = Json::array();
  for (size_t i = 0; i < bins_.size(); ++i)
    if (bins_[i].second > 0) b.push_back({i, bins_[i].first, bins_[i].second});
  j["bins"] = b;
  return j;
}

FifthMeans FifthMeans::from_json(const Json& j)
{
  FifthMeans f(j.at("start").get<double>(), j.at("exact_up_to").get<long>());
  if (j.contains("exact")) {
    for (const Json& e : j.at("exact"))
      f.exact_.emplace_back(e.at(0).get<double>(), e.at(1).get<double>());
    return f;
  }
  f.binned_ = true;
  f.width_ = j.at("width").get<double>();
  f.bins_.assign(fifth_bins, {0, 0});
  for (const Json& b : j.at("bins"))
    f.bins_.at(b.at(0).get<size_t>()) = {b.at(1).get<double>(), b.at(2).get<long>()};
  return f;
}

// ---- RequestStats

RequestStats::RequestStats(double window_start, long exact_up_to)
    : ttft(exact_up_to), tpot(exact_up_to), e2e(exact_up_to), decode_wait(exact_up_to), kv_pull(exact_up_to),
      user_speed(exact_up_to), host_queue(exact_up_to), host_work(exact_up_to), transfer_bytes(exact_up_to),
      fifths(window_start, exact_up_to)
{
}

void RequestStats::add(const Request& q, const Window& w, const SloConfig& slo, bool host)
{
  ++arrived;
  if (!q.dropped.empty()) {
    dropped++;
    drop_reasons[q.dropped]++;
    return;
  }
  prompt_tokens += double(q.spec.input_tokens);
  if (q.finish < 0) return; // never: the run ends when every request finished or was dropped
  completed++;
  preemptions += q.preemptions;
  if (q.kv_bytes_transferred > 0) {
    transfer_bytes.add(q.kv_bytes_transferred);
    transfer_bytes_total += q.kv_bytes_transferred;
  }
  if (!w.contains(q.spec.arrival)) return;
  measured++;
  const double first = q.first_token - q.spec.arrival;
  if (q.first_token < 0 || q.first_token > w.end) backlog++;
  fifths.add(q.spec.arrival, first);
  ttft.add(first);
  e2e.add(q.finish - q.spec.arrival);
  if (q.spec.output_tokens > 1) tpot.add(fs::tpot(q));
  // Per-user speed: output tokens per second after the first token, what an interactive user sees stream.
  if (q.spec.output_tokens > 1 && q.finish > q.first_token)
    user_speed.add(double(q.spec.output_tokens - 1) / (q.finish - q.first_token));
  if (host) {
    host_queue.add(q.host_queue_s);
    host_work.add(q.host_work_s);
  }
  if (q.decode_admitted >= 0) {
    decode_wait.add(q.decode_wait_s());
    kv_pull.add(q.kv_transfer_s());
  }
  good += meets_slo(q, slo);
}

namespace {
template <class S, class F> void each_quantiles(S& s, F&& f) // S: RequestStats, const or not
{
  f("ttft", s.ttft);
  f("tpot", s.tpot);
  f("e2e", s.e2e);
  f("decode_wait", s.decode_wait);
  f("kv_pull", s.kv_pull);
  f("user_speed", s.user_speed);
  f("host_queue", s.host_queue);
  f("host_work", s.host_work);
  f("transfer_bytes", s.transfer_bytes);
}
} // namespace

void RequestStats::merge(const RequestStats& o)
{
  arrived += o.arrived;
  completed += o.completed;
  dropped += o.dropped;
  measured += o.measured;
  good += o.good;
  backlog += o.backlog;
  preemptions += o.preemptions;
  prompt_tokens += o.prompt_tokens;
  transfer_bytes_total += o.transfer_bytes_total;
  for (auto const& [why, n] : o.drop_reasons)
    drop_reasons[why] += n;
  std::map<std::string, const Quantiles*> theirs;
  each_quantiles(o, [&](const char* k, const Quantiles& q) { theirs[k] = &q; });
  each_quantiles(*this, [&](const char* k, Quantiles& q) { q.merge(*theirs.at(k)); });
  fifths.merge(o.fifths);
}

bool RequestStats::exact() const
{
  bool all = true;
  each_quantiles(*this, [&](const char*, const Quantiles& q) { all = all && q.exact(); });
  return all;
}

Json RequestStats::to_json() const
{
  Json j = {{"arrived", arrived},
            {"completed", completed},
            {"dropped", dropped},
            {"measured", measured},
            {"good", good},
            {"backlog", backlog},
            {"preemptions", preemptions},
            {"prompt_tokens", prompt_tokens},
            {"drop_reasons", drop_reasons},
            {"transfer_bytes_total", transfer_bytes_total},
            {"fifths", fifths.to_json()}};
  each_quantiles(*this, [&](const char* k, const Quantiles& q) { j[k] = q.to_json(); });
  return j;
}

RequestStats RequestStats::from_json(const Json& j)
{
  RequestStats s;
  s.arrived = j.at("arrived").get<long>();
  s.completed = j.at("completed").get<long>();
  s.dropped = j.at("dropped").get<long>();
  s.measured = j.at("measured").get<long>();
  s.good = j.at("good").get<long>();
  s.backlog = j.at("backlog").get<long>();
  s.preemptions = j.at("preemptions").get<long>();
  s.prompt_tokens = j.at("prompt_tokens").get<double>();
  s.transfer_bytes_total = j.at("transfer_bytes_total").get<double>();
  s.drop_reasons = j.at("drop_reasons").get<std::map<std::string, long>>();
  s.fifths = FifthMeans::from_json(j.at("fifths"));
  each_quantiles(s, [&](const char* k, Quantiles& q) { q = Quantiles::from_json(j.at(k)); });
  return s;
}

} // namespace fs
