// The KV tiers under accelerator memory as SimGrid resources (docs/model.md, "KV-cache hierarchy"). Per
// accelerator server its host DRAM and local NVMe are s4u::Disks on its host; the remote store is a disk per
// store server, reached over the fabric. A step's loads are disk reads (plus, from the store, a transfer to the
// instance's server that shares the NIC and rack links with the P/D KV pulls); what the caches write into a tier
// (evictions, offloaded KV) is written in the background on the same disks and links, where it slows the reads.
#pragma once
#include "platform.hpp"
#include "prefix_cache.hpp"
#include "scenario.hpp"
#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <simgrid/s4u.hpp>
#include <vector>

namespace fs {

class KvTiers {
public:
  KvTiers(const Scenario& s, const Platform& pf); // no tiers unless the scenario caches prefixes

  // The first tier under accelerator memory of the instances on server `h` (null: none).
  KvStore* below_hbm(simgrid::s4u::Host* h) const;
  // Runs `loads` into server `to` (each no faster than its link), then `done`, in a SimGrid actor.
  void load(simgrid::s4u::Host* to, const std::vector<TierLoad>& loads, std::function<void()> done);
  // Writes in the background what the tiers under server `from` have taken in since they last wrote.
  void flush(simgrid::s4u::Host* from);

  const std::vector<std::unique_ptr<KvStore>>& stores() const { return stores_; }
  // Whether a load or a background write is under way (something will still happen in the engine).
  bool busy() const;
  // Whether loads or writes cross the fabric (a remote store): they share links with the KV pulls.
  bool uses_fabric() const;
  const std::array<double, kv_tier_count>& capacity_bytes() const { return tier_bytes_; }

private:
  // Where a store's bytes live: one disk on its server's host, or (remote) a disk on each store server.
  struct Device {
    std::vector<simgrid::s4u::Disk*> disks;
    size_t next = 0;      // remote: the store server the next load or write uses (round robin)
    bool writing = false; // a background writer is draining the store's pending writes
  };
  // One step's loads, read and moved together; reusable workers run them (an actor per load mapped and unmapped a
  // stack each time, as KV pulls did).
  struct Leg {
    simgrid::s4u::Disk* disk;
    double bytes;
    double link; // bytes/s of the instance's own path for it
    bool remote;
  };
  struct LoadJob {
    simgrid::s4u::Host* to;
    std::vector<Leg> legs;
    std::function<void()> done;
  };
  void load_worker();
  void run_load(const LoadJob& j);
  void write_loop(KvStore* st, Device& d, simgrid::s4u::Host* from);
  simgrid::s4u::Disk* pick(Device& d);

  std::deque<LoadJob> jobs_; // loads started, no worker on them yet
  long idle_ = 0;            // workers waiting for a job, not yet claimed
  long loading_ = 0;         // loads started and not done
  bool latency_after_;       // latency_after_transfer
  simgrid::s4u::MutexPtr mutex_ = simgrid::s4u::Mutex::create();
  simgrid::s4u::ConditionVariablePtr cv_ = simgrid::s4u::ConditionVariable::create();

  std::vector<std::unique_ptr<KvStore>> stores_;
  std::map<const KvStore*, Device> devices_;
  std::map<simgrid::s4u::Host*, KvStore*> below_hbm_;
  std::array<double, kv_tier_count> tier_bytes_{};
};

} // namespace fs
