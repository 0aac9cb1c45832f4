#include "router.hpp"
#include <limits>
#include <random>
#include <stdexcept>

namespace fs {

size_t Router::pick_blind(size_t, const Request&)
{
  throw std::logic_error("pick_blind called on a router that reads views");
}

size_t least_outstanding(const std::vector<InstanceView>& v)
{
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i].outstanding < v[best].outstanding) best = i;
  return best;
}

namespace {

class RoundRobin : public Router {
public:
  size_t pick(const std::vector<InstanceView>& v, const Request& r) override { return pick_blind(v.size(), r); }
  Shortcut shortcut() const override { return Shortcut::blind; }
  size_t pick_blind(size_t n, const Request&) override { return next_++ % n; }

private:
  size_t next_ = 0;
};

class LeastOutstanding : public Router {
public:
  size_t pick(const std::vector<InstanceView>& v, const Request&) override { return least_outstanding(v); }
  Shortcut shortcut() const override { return Shortcut::least_outstanding; }
};

// Prefers instances whose free KV blocks hold the request's context now (no wait for memory), least
// outstanding work first; when none does, the least outstanding overall.
class KvAware : public Router {
public:
  size_t pick(const std::vector<InstanceView>& v, const Request& r) override
  {
    const long tokens = r.context > 0 ? r.context : r.spec.input_tokens;
    size_t best = v.size();
    for (size_t i = 0; i < v.size(); ++i) {
      const long need = (tokens + v[i].kv_block_tokens - 1) / v[i].kv_block_tokens;
      if (v[i].kv_free_blocks >= need && (best == v.size() || v[i].outstanding < v[best].outstanding)) best = i;
    }
    return best < v.size() ? best : least_outstanding(v);
  }
};

// SGLang's cache-aware routing: the instance holding the longest prefix of the request, unless the load is out of
// balance (the busiest holds more than `abs` requests over the least busy and more than `rel` times its
// count), when the least busy gets it. Defaults 32 and 1.0001 are sgl-router's balance thresholds.
class PrefixAware : public Router {
public:
  size_t pick(const std::vector<InstanceView>& v, const Request&) override
  {
    auto load = [](const InstanceView& x) { return x.waiting + x.running; };
    size_t lo = 0, hi = 0, best = 0;
    for (size_t i = 1; i < v.size(); ++i) {
      if (load(v[i]) < load(v[lo])) lo = i;
      if (load(v[i]) > load(v[hi])) hi = i;
      if (v[i].cached_prefix_tokens > v[best].cached_prefix_tokens ||
          (v[i].cached_prefix_tokens == v[best].cached_prefix_tokens && v[i].outstanding < v[best].outstanding))
        best = i;
    }
    const bool unbalanced = load(v[hi]) - load(v[lo]) > 32 && double(load(v[hi])) > 1.0001 * double(load(v[lo]));
    if (unbalanced || v[best].cached_prefix_tokens == 0) return least_outstanding(v);
    return best;
  }
  bool wants_prefix() const override { return true; }
};

class Random : public Router {
public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  size_t pick(const std::vector<InstanceView>& v, const Request& r) override { return pick_blind(v.size(), r); }
  Shortcut shortcut() const override { return Shortcut::blind; }
  size_t pick_blind(size_t n, const Request&) override { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

private:
  std::mt19937_64 rng_;
};

} // namespace

const RouterRegistry& router_registry()
{
  static const RouterRegistry reg = [] {
    RouterRegistry r("router");
    r.add("round_robin", "cycle through the instances in order",
          [](uint64_t) { return std::make_unique<RoundRobin>(); });
    r.add("least_outstanding", "instance owing the fewest tokens (queued prefill + remaining decode)",
          [](uint64_t) { return std::make_unique<LeastOutstanding>(); });
    r.add("kv_aware", "least outstanding among instances whose free KV blocks hold the request now",
          [](uint64_t) { return std::make_unique<KvAware>(); });
    r.add("prefix_aware",
          "longest cached prompt prefix (prefix caching), least outstanding when loads are out of balance (SGLang)",
          [](uint64_t) { return std::make_unique<PrefixAware>(); });
    r.add("random", "uniformly random instance (seeded)", [](uint64_t s) { return std::make_unique<Random>(s); });
    return r;
  }();
  return reg;
}

} // namespace fs
