// Prefix caching over a KV storage hierarchy (docs/model.md, "KV-cache hierarchy"). Prompts are cut into chunks
// of `chunk_tokens` (a trace's hash blocks); a chunk's hash names its KV, so two requests whose prompts start
// with the same hashes share that KV. An instance's accelerator memory (tier hbm) keeps the chunks its requests
// computed, in its KvCache's blocks, shared and pinned while used and evictable (LRU) after; an evicted chunk
// moves down to the next tier (host DRAM, local NVMe, a remote store), each an LRU of fixed capacity. A request
// starts after the longest leading run of its chunks found in any tier; chunks below hbm are loaded first: the
// cache lists those loads (and the bytes each tier must write) and the engine times them as SimGrid I/O and
// network activities, where they share devices and the fabric with everything else. Pure: no SimGrid.
#pragma once
#include "kv_cache.hpp"
#include <array>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace fs {

enum class KvTier { hbm, dram, nvme, remote };
constexpr int kv_tier_count = 4;
const char* tier_name(KvTier t);

// A set of chunks in least-recently-used order with a capacity; pinned chunks are never evicted.
class ChunkLru {
public:
  explicit ChunkLru(long capacity_chunks = -1); // < 0: unbounded (hbm: the KvCache bounds it)
  bool contains(uint64_t h) const { return map_.count(h) > 0; }
  long size() const { return long(map_.size()); }
  long evictable() const { return long(lru_.size()); }
  long capacity() const { return capacity_; }
  // Adds `h` pinned `pins` times (most recently used), evicting the least recently used unpinned chunks into
  // `evicted` to make room. False, and nothing changes, when everything is pinned (or the capacity is 0).
  bool insert(uint64_t h, long pins, std::vector<uint64_t>& evicted);
  void pin(uint64_t h);
  void unpin(uint64_t h);
  void touch(uint64_t h); // most recently used
  bool evict_one(uint64_t& h);
  void erase(uint64_t h); // pinned or not

private:
  struct Entry {
    long pins = 0;
    std::list<uint64_t>::iterator at; // in lru_ when pins == 0
  };
  long capacity_;
  std::unordered_map<uint64_t, Entry> map_;
  std::list<uint64_t> lru_; // unpinned, least recently used first
};

// What a tier did, for the report.
struct TierStats {
  long hit_chunks = 0;     // chunks found here by a lookup (the leading run)
  double loaded_bytes = 0; // moved from here into accelerator memory
  long stored_chunks = 0;  // chunks written here (computed in hbm, or demoted into a lower tier)
  long evicted_chunks = 0; // dropped (or demoted) to make room
};

// A tier below accelerator memory, shared by the instances it serves (a server's DRAM or NVMe; the store).
struct KvStore {
  KvTier tier = KvTier::dram;
  ChunkLru chunks;
  double chunk_bytes = 0; // KV bytes of one chunk
  KvStore* below = nullptr;
  TierStats stats;
  double pending_write_bytes = 0; // written here since the engine last took them (writes_taken)

  KvStore(KvTier t, long capacity_chunks, double chunk_bytes_, KvStore* next)
      : tier(t), chunks(capacity_chunks), chunk_bytes(chunk_bytes_), below(next)
  {
  }
  // Takes an evicted chunk; what it evicts in turn goes further down (or is dropped at the bottom).
  void demote(uint64_t h);
  // The bytes written since the last call (the engine times them as background writes).
  double take_writes();
};

// KV bytes a step must load into accelerator memory from a lower tier before it starts.
struct TierLoad {
  KvStore* from = nullptr;
  double bytes = 0;
  double link = 0; // bytes/s: the instance's own path (PCIe/C2C from host memory, its NICs from the store)
};
// Adds `bytes` from `from` to `loads`, merged with a load from the same tier.
void add_load(std::vector<TierLoad>& loads, KvStore* from, double bytes, double link);

struct PrefixConfig {
  long chunk_tokens = 0;          // tokens per hash (multiple of the KvCache block)
  double chunk_bytes = 0;         // KV bytes of one chunk on this instance, loaded from a lower tier
  double link_bandwidth = 0;      // bytes/s the instance loads at from host memory (PCIe / C2C), all its chips
  double net_bandwidth = 0;       // bytes/s it loads at from the remote store (its NICs)
  KvStore* below = nullptr;       // the first tier under hbm (null: evicted chunks are dropped)
  bool offload_preempted = false; // a preempted sequence's KV goes to `below` (when it has room), not recomputed
};

// One instance's prefix cache: its hbm tier in the KvCache, and the tiers under it.
class PrefixCache : public KvEvictor {
public:
  PrefixCache(KvCache& kv, const PrefixConfig& cfg);

  // Before a request's first prefill here: finds the leading run of `hashes` (at most `max_tokens`), pins it,
  // moves the chunks below hbm into hbm (their loads appended to `loads`) and starts `seq` after it. Returns the
  // prompt tokens that need no prefill.
  long acquire(const std::vector<uint64_t>& hashes, long max_tokens, KvSeq& seq, std::vector<TierLoad>& loads,
               long& pinned);
  // After a prefill chunk: the whole chunks of `hashes` now computed (`computed` tokens) enter the cache, pinned
  // by the request (`pinned` counts its leading chunks held).
  void computed(const std::vector<uint64_t>& hashes, long computed, KvSeq& seq, long& pinned);
  // Tokens of `hashes` acquire() would find now (at most `max_tokens`), without changing anything.
  long match(const std::vector<uint64_t>& hashes, long max_tokens) const;
  // The request no longer reads its chunks (finished, preempted, or its KV has left).
  void release(const std::vector<uint64_t>& hashes, long& pinned);

  // Offload instead of recompute: the `tokens` of preempted request `id` go to the tier under hbm, pinned there
  // until restored. False when there is no such tier or no room (the request recomputes).
  bool offload(long id, long tokens);
  // Before its re-admission: its KV comes back into accelerator memory (its own blocks, reserved by the caller);
  // the load is appended to `loads`.
  void restore(long id, long tokens, std::vector<TierLoad>& loads);

  // KvEvictor
  void make_room(long blocks) override;
  long evictable_blocks() const override { return hbm_.evictable() * chunk_blocks_; }

  const PrefixConfig& config() const { return cfg_; }
  long lookups() const { return lookups_; } // chunks asked for
  const TierStats& hbm_stats() const { return stats_; }

private:
  KvStore* lower_holder(uint64_t h) const; // the first tier under hbm that holds `h` (null: none)

  KvCache& kv_;
  PrefixConfig cfg_;
  long chunk_blocks_;
  ChunkLru hbm_;
  TierStats stats_;
  long lookups_ = 0;
  std::vector<uint64_t> evicted_; // scratch
};

} // namespace fs
