// Scans of short arrays of doubles that a router runs at every pick (StaleMin, below), two lanes at a time where the
// CPU has SSE2 (every x86-64 does), with no branch per element: a 128-member group's pick cost ~1,700 instructions
// per request with scalar loops, ~1,250 with these (the refreshes of stale members included). Same answers as the
// scalar loops below them, which other CPUs run.
#pragma once
#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fs {

#if defined(__SSE2__)
// Bits 0 to 3: which of x[0..4) pass `cmp` (an _mm_cmp*_pd) against v.
template <class Cmp> int lanes4(const double* x, __m128d v, Cmp cmp)
{
  return _mm_movemask_pd(cmp(_mm_loadu_pd(x), v)) | (_mm_movemask_pd(cmp(_mm_loadu_pd(x + 2), v)) << 2);
}
#endif

// The smallest of x[0..n) (n > 0, no NaN).
inline double min_of(const double* x, size_t n)
{
  double m = x[0];
  size_t k = 1;
#if defined(__SSE2__)
  if (n >= 8) {
    __m128d a = _mm_loadu_pd(x), b = _mm_loadu_pd(x + 2), c = _mm_loadu_pd(x + 4), d = _mm_loadu_pd(x + 6);
    for (k = 8; k + 8 <= n; k += 8) { // four chains: minpd's latency, not its throughput, would bound one
      a = _mm_min_pd(a, _mm_loadu_pd(x + k));
      b = _mm_min_pd(b, _mm_loadu_pd(x + k + 2));
      c = _mm_min_pd(c, _mm_loadu_pd(x + k + 4));
      d = _mm_min_pd(d, _mm_loadu_pd(x + k + 6));
    }
    a = _mm_min_pd(_mm_min_pd(a, b), _mm_min_pd(c, d));
    const double lo = _mm_cvtsd_f64(a), hi = _mm_cvtsd_f64(_mm_unpackhi_pd(a, a));
    m = hi < lo ? hi : lo;
  }
#endif
  for (; k < n; ++k)
    if (x[k] < m) m = x[k];
  return m;
}

// The first index k of x[0..n) with x[k] == m, where m is one of them.
inline size_t first_equal(const double* x, size_t n, double m)
{
  size_t i = 0;
#if defined(__SSE2__)
  const __m128d mv = _mm_set1_pd(m);
  for (; i + 4 <= n; i += 4)
    if (const int bits = lanes4(x + i, mv, [](__m128d a, __m128d b) { return _mm_cmpeq_pd(a, b); }))
      return i + size_t(__builtin_ctz(unsigned(bits)));
#endif
  for (; i < n; ++i)
    if (x[i] == m) return i;
  return 0; // not reached: m is one of them
}

// The first index of the smallest of x[0..n) (n > 0, no NaN): what a scan keeping the first strict minimum returns.
inline size_t first_min(const double* x, size_t n) { return first_equal(x, n, min_of(x, n)); }

// Calls f(k) for each k in increasing order with x[k] <= t (f may change x[k]; no NaN in x).
template <class F> void for_each_at_most(const double* x, size_t n, double t, F&& f)
{
  size_t k = 0;
#if defined(__SSE2__)
  const __m128d tv = _mm_set1_pd(t);
  for (; k + 4 <= n; k += 4)
    for (int bits = lanes4(x + k, tv, [](__m128d a, __m128d b) { return _mm_cmple_pd(a, b); }); bits; bits &= bits - 1)
      f(k + size_t(__builtin_ctz(unsigned(bits))));
#endif
  for (; k < n; ++k)
    if (x[k] <= t) f(k);
}

// The first of n slots holding the smallest value, where a value once read stays exact until a time known at the
// read (its stale time) or until mark_stale: a router's least-outstanding pick over its members' loads, which an
// event makes stale at once and a fast run's step end at a known time. argmin() re-reads the stale slots
// only, through blocks of 8 slots that keep their smallest value and stale time: O(n / 8 + stale slots x 8) per pick,
// not O(n) (measured against a flat scan and a tournament tree: docs/design.md, "Routing without views").
class StaleMin {
public:
  static constexpr size_t block = 8;
  explicit StaleMin(size_t n = 0)
      : value_(n, 0.0), stale_(n, -inf), block_value_((n + block - 1) / block, 0.0),
        block_stale_(block_value_.size(), -inf)
  {
  }
  size_t size() const { return value_.size(); }
  void mark_stale(size_t k) { stale_[k] = block_stale_[k / block] = -inf; }
  // The first slot holding the smallest value (n > 0) once every slot stale at `now` (stale time <= now) is re-read:
  // read(k) returns its value and the time it goes stale (> now; +inf: only by mark_stale). Values are not NaN.
  template <class Read> size_t argmin(double now, Read&& read)
  {
    const size_t n = value_.size();
    for_each_at_most(block_stale_.data(), block_stale_.size(), now, [&](size_t b) {
      const size_t lo = b * block, len = std::min(block, n - lo);
      for_each_at_most(stale_.data() + lo, len, now, [&](size_t i) {
        const auto [v, t] = read(lo + i);
        value_[lo + i] = v;
        stale_[lo + i] = t;
      });
      block_value_[b] = min_of(value_.data() + lo, len);
      block_stale_[b] = min_of(stale_.data() + lo, len);
    });
    const size_t b = first_min(block_value_.data(), block_value_.size()), lo = b * block;
    return lo + first_equal(value_.data() + lo, std::min(block, n - lo), block_value_[b]);
  }

private:
  static constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> value_, stale_, block_value_, block_stale_;
};

} // namespace fs
