#include "kv_tiers.hpp"
#include <algorithm>

namespace s4u = simgrid::s4u;

namespace fs {

KvTiers::KvTiers(const Scenario& s, const Platform& pf) : latency_after_(latency_after_transfer(s))
{
  const KvCacheConfig& c = s.kv_cache;
  if (!c.enabled()) return;
  const double chunk = double(s.prefix_block_tokens) * kv_bytes_per_token(s.model, s.dtypes.kv);
  auto store = [&](KvTier t, double bytes, KvStore* below) {
    stores_.push_back(std::make_unique<KvStore>(t, long(bytes / chunk), chunk, below));
    tier_bytes_[size_t(t)] += bytes;
    return stores_.back().get();
  };
  KvStore* remote = nullptr;
  if (!c.remote_pool.empty()) {
    const ServerPool& rp = s.pool(c.remote_pool);
    remote = store(KvTier::remote, double(rp.servers) * c.remote_per_server * c.remote.capacity_bytes, nullptr);
    Device& d = devices_[remote];
    for (s4u::Host* h : pf.servers.at(rp.name)) {
      d.disks.push_back(h->create_disk(h->get_name() + "-kvstore", c.remote_per_server * c.remote.read_bandwidth,
                                       c.remote_per_server * c.remote.write_bandwidth));
      d.disks.back()->seal();
    }
  }
  for (const ServerPool& p : s.pools) {
    if (p.cpu_only()) continue;
    // Host DRAM moves KV at the sockets' memory bandwidth, both ways (the PCIe/C2C link is the instance's cap).
    const double mem = p.server.cpus_per_server * p.server.cpu.memory_bandwidth;
    for (s4u::Host* h : pf.servers.at(p.name)) {
      KvStore* top = remote;
      auto add = [&](KvTier t, double bytes, double read, double write, const char* suffix) {
        top = store(t, bytes, top);
        s4u::Disk* disk = h->create_disk(h->get_name() + suffix, read, write);
        disk->seal();
        devices_[top].disks.push_back(disk);
      };
      if (c.nvme_per_server)
        add(KvTier::nvme, c.nvme_per_server * c.nvme.capacity_bytes, c.nvme_per_server * c.nvme.read_bandwidth,
            c.nvme_per_server * c.nvme.write_bandwidth, "-nvme");
      if (c.dram_per_server) add(KvTier::dram, c.dram_per_server * c.dram.capacity_bytes, mem, mem, "-dram");
      below_hbm_[h] = top;
    }
  }
}

KvStore* KvTiers::below_hbm(s4u::Host* h) const
{
  auto it = below_hbm_.find(h);
  return it == below_hbm_.end() ? nullptr : it->second;
}

s4u::Disk* KvTiers::pick(Device& d)
{
  s4u::Disk* disk = d.disks[d.next];
  d.next = (d.next + 1) % d.disks.size();
  return disk;
}

void KvTiers::load(s4u::Host* to, const std::vector<TierLoad>& loads, std::function<void()> done)
{
  LoadJob j{to, {}, std::move(done)};
  for (const TierLoad& l : loads)
    j.legs.push_back({pick(devices_.at(l.from)), l.bytes, l.link, l.from->tier == KvTier::remote});
  jobs_.push_back(std::move(j));
  loading_++;
  if (idle_ > 0) {
    idle_--;
    cv_->notify_one();
  } else {
    s4u::Actor::create("kvload", to, [this] { load_worker(); })->daemonize();
  }
}

void KvTiers::load_worker()
{
  std::unique_lock lock(*mutex_);
  while (true) {
    while (jobs_.empty()) {
      idle_++; // load() claims this worker (decrements) when it hands it a job
      cv_->wait(lock);
    }
    const LoadJob j = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    run_load(j);
    loading_--;
    lock.lock();
  }
}

void KvTiers::run_load(const LoadJob& j)
{
  const double start = s4u::Engine::get_clock();
  std::vector<s4u::ActivityPtr> reads, comms;
  // Loads over the same path share it: PCIe/C2C from host DRAM and NVMe, the NICs from the store.
  std::map<double, double> per_link;
  double latency = 0;
  for (const Leg& l : j.legs) {
    reads.push_back(l.disk->read_async(uint64_t(l.bytes))); // the store streams as it reads: both at once
    if (l.remote) {
      s4u::Host* from = l.disk->get_host();
      comms.push_back(s4u::Comm::sendto_async(from, j.to, uint64_t(l.bytes)));
      latency = std::max(latency, route_latency(from, j.to));
    }
    per_link[l.link] += l.bytes;
  }
  for (auto& a : comms)
    a->wait();
  // The transfers' end, with their route latency when SimGrid leaves it out (latency_after_transfer).
  double capped = s4u::Engine::get_clock() + (latency_after_ && !comms.empty() ? latency : 0.0);
  for (auto& a : reads)
    a->wait();
  // No faster than the instance's own links (SimGrid cannot cap a host-to-host transfer's rate, as for pulls).
  capped = std::max(capped, start + latency);
  for (auto const& [link, bytes] : per_link)
    capped = std::max(capped, start + latency + bytes / link);
  if (s4u::Engine::get_clock() < capped) s4u::this_actor::sleep_until(capped);
  j.done();
}

void KvTiers::write_loop(KvStore* st, Device& d, s4u::Host* from)
{
  for (double bytes; (bytes = st->take_writes()) > 0;) {
    s4u::Disk* disk = pick(d);
    s4u::IoPtr io = disk->write_async(uint64_t(bytes));
    double sent = 0;
    if (st->tier == KvTier::remote) {
      s4u::Comm::sendto(from, disk->get_host(), uint64_t(bytes));
      sent = s4u::Engine::get_clock() + (latency_after_ ? route_latency(from, disk->get_host()) : 0.0);
    }
    io->wait();
    if (s4u::Engine::get_clock() < sent) s4u::this_actor::sleep_until(sent);
  }
  d.writing = false;
}

bool KvTiers::busy() const
{
  return loading_ > 0 || std::any_of(devices_.begin(), devices_.end(), [](auto const& d) { return d.second.writing; });
}

bool KvTiers::uses_fabric() const
{
  return std::any_of(stores_.begin(), stores_.end(), [](auto const& st) { return st->tier == KvTier::remote; });
}

void KvTiers::flush(s4u::Host* from)
{
  for (KvStore* st = below_hbm(from); st; st = st->below) {
    Device& d = devices_.at(st);
    if (d.writing || st->pending_write_bytes <= 0) continue;
    d.writing = true;
    // A daemon: writes still under way when the last request finishes do not extend the run.
    s4u::Actor::create("kvwrite", from, [this, st, &d, from] { write_loop(st, d, from); })->daemonize();
  }
}

} // namespace fs
