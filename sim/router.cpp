#include "router.hpp"
#include <random>

namespace fs {

namespace {

class RoundRobin : public Router {
public:
  size_t pick(const std::vector<long>& outstanding, const Request&) override { return next_++ % outstanding.size(); }

private:
  size_t next_ = 0;
};

class LeastOutstanding : public Router {
public:
  size_t pick(const std::vector<long>& outstanding, const Request&) override
  {
    size_t best = 0;
    for (size_t i = 1; i < outstanding.size(); ++i)
      if (outstanding[i] < outstanding[best]) best = i;
    return best;
  }
};

class Random : public Router {
public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  size_t pick(const std::vector<long>& outstanding, const Request&) override
  {
    return std::uniform_int_distribution<size_t>(0, outstanding.size() - 1)(rng_);
  }

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
    r.add("random", "uniformly random instance (seeded)", [](uint64_t s) { return std::make_unique<Random>(s); });
    return r;
  }();
  return reg;
}

} // namespace fs
