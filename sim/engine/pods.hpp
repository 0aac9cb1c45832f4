// The global router of a factory made of pods (scenario "pods"; docs/design.md, "Pods"): picks the pod of each
// arrival. Pure and deterministic: every process of a run split over MPI ranks draws the same arrivals and feeds it
// the same loads, so all make the same choices and each admits only the arrivals of its own pods.
#pragma once
#include "scenario.hpp"
#include <algorithm>
#include <vector>

namespace fs {

class PodRouter {
public:
  explicit PodRouter(const PodsConfig& c)
      : count_(c.count), round_robin_(c.router == "round_robin"), load_(size_t(c.count), 0.0),
        sent_(size_t(c.count), 0.0)
  {
  }
  // Each pod's outstanding tokens as of now (live) or as of a window's start (sync_s): later picks add the tokens
  // they send to each pod to it, so the arrivals of one window spread over the pods.
  void snapshot(const std::vector<double>& load)
  {
    load_ = load;
    std::fill(sent_.begin(), sent_.end(), 0.0);
  }
  // The pod of a request of `tokens` (input + output): the least loaded, the first on a tie; round robin: in turn.
  int pick(double tokens)
  {
    if (count_ == 1) return 0;
    if (round_robin_) return int(next_++ % count_);
    int best = 0;
    for (int p = 1; p < count_; ++p)
      if (load_[size_t(p)] + sent_[size_t(p)] < load_[size_t(best)] + sent_[size_t(best)]) best = p;
    sent_[size_t(best)] += tokens;
    return best;
  }

private:
  int count_;
  bool round_robin_;
  std::vector<double> load_, sent_;
  long next_ = 0;
};

// A run whose pods are split over processes (MPI ranks; the CLI implements it): this process simulates the pods p
// with p % ranks() == rank(). At each multiple of pods.sync_s the processes exchange their pods' loads.
class PodSync {
public:
  virtual ~PodSync() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  virtual void sum(std::vector<double>& v) = 0; // element-wise over every process, in place (a collective)
  virtual bool all(bool mine) = 0;              // whether every process's `mine` is true (a collective)
  bool mine(int pod) const { return pod % ranks() == rank(); }
};

} // namespace fs
