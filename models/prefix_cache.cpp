#include "prefix_cache.hpp"
#include <algorithm>
#include <stdexcept>

namespace fs {

const char* tier_name(KvTier t)
{
  switch (t) {
  case KvTier::hbm:
    return "hbm";
  case KvTier::dram:
    return "host_dram";
  case KvTier::nvme:
    return "nvme";
  case KvTier::remote:
    return "remote";
  }
  return "?";
}

ChunkLru::ChunkLru(long capacity_chunks) : capacity_(capacity_chunks) {}

bool ChunkLru::insert(uint64_t h, long pins, std::vector<uint64_t>& evicted)
{
  if (contains(h)) throw std::logic_error("ChunkLru: chunk inserted twice");
  if (capacity_ == 0) return false;
  if (capacity_ > 0 && size() >= capacity_) {
    if (lru_.empty()) return false;
    while (size() >= capacity_ && !lru_.empty()) {
      uint64_t v;
      evict_one(v);
      evicted.push_back(v);
    }
  }
  Entry& e = map_[h];
  e.pins = pins;
  if (pins == 0) e.at = lru_.insert(lru_.end(), h);
  return true;
}

void ChunkLru::pin(uint64_t h)
{
  Entry& e = map_.at(h);
  if (e.pins++ == 0) lru_.erase(e.at);
}

void ChunkLru::unpin(uint64_t h)
{
  Entry& e = map_.at(h);
  if (e.pins <= 0) throw std::logic_error("ChunkLru: unpin of an unpinned chunk");
  if (--e.pins == 0) e.at = lru_.insert(lru_.end(), h);
}

void ChunkLru::touch(uint64_t h)
{
  Entry& e = map_.at(h);
  if (e.pins == 0) lru_.splice(lru_.end(), lru_, e.at);
}

void ChunkLru::erase(uint64_t h)
{
  auto it = map_.find(h);
  if (it == map_.end()) return;
  if (it->second.pins == 0) lru_.erase(it->second.at);
  map_.erase(it);
}

bool ChunkLru::evict_one(uint64_t& h)
{
  if (lru_.empty()) return false;
  h = lru_.front();
  lru_.pop_front();
  map_.erase(h);
  return true;
}

void KvStore::demote(uint64_t h)
{
  if (chunks.contains(h)) {
    chunks.touch(h); // inclusive tiers: it was here already
    return;
  }
  std::vector<uint64_t> out;
  if (!chunks.insert(h, 0, out)) return;
  stats.stored_chunks++;
  pending_write_bytes += chunk_bytes;
  stats.evicted_chunks += long(out.size());
  for (uint64_t v : out)
    if (below) below->demote(v);
}

double KvStore::take_writes()
{
  const double b = pending_write_bytes;
  pending_write_bytes = 0;
  return b;
}

void add_load(std::vector<TierLoad>& loads, KvStore* from, double bytes, double link)
{
  from->stats.loaded_bytes += bytes;
  for (TierLoad& l : loads)
    if (l.from == from) {
      l.bytes += bytes;
      return;
    }
  loads.push_back({from, bytes, link});
}

PrefixCache::PrefixCache(KvCache& kv, const PrefixConfig& cfg)
    : kv_(kv), cfg_(cfg), chunk_blocks_(cfg.chunk_tokens / kv.block_tokens())
{
  if (cfg.chunk_tokens <= 0 || cfg.chunk_tokens % kv.block_tokens() != 0)
    throw std::logic_error("prefix chunks must be whole KV blocks");
  kv_.set_evictor(this);
}

long PrefixCache::acquire(const std::vector<uint64_t>& hashes, long max_tokens, KvSeq& seq,
                          std::vector<TierLoad>& loads, long& pinned)
{
  lookups_ += long(hashes.size());
  const long most = std::min<long>(long(hashes.size()), max_tokens / cfg_.chunk_tokens);
  long k = 0;
  for (; k < most; ++k) {
    const uint64_t h = hashes[size_t(k)];
    if (hbm_.contains(h)) {
      hbm_.pin(h);
      stats_.hit_chunks++;
      continue;
    }
    KvStore* from = lower_holder(h);
    if (!from) break; // a miss
    // Held where it is while room is made for it (evictions move chunks down into that tier).
    from->chunks.pin(h);
    const bool room = kv_.add_cached(chunk_blocks_);
    from->chunks.unpin(h);
    if (!room) break;
    from->stats.hit_chunks++;
    const double link = from->tier == KvTier::remote ? cfg_.net_bandwidth : cfg_.link_bandwidth;
    add_load(loads, from, cfg_.chunk_bytes, link);
    evicted_.clear();
    hbm_.insert(h, 1, evicted_); // unbounded: evicts nothing
  }
  pinned = k;
  const long tokens = k * cfg_.chunk_tokens;
  kv_.start_after(seq, tokens);
  return tokens;
}

void PrefixCache::computed(const std::vector<uint64_t>& hashes, long computed, KvSeq& seq, long& pinned)
{
  const long whole = std::min<long>(long(hashes.size()), computed / cfg_.chunk_tokens);
  for (; pinned < whole; ++pinned) {
    const uint64_t h = hashes[size_t(pinned)];
    kv_.cache_chunk(seq, cfg_.chunk_tokens);
    if (hbm_.contains(h)) {
      kv_.drop_cached(chunk_blocks_); // another request computed it meanwhile: share that copy
      hbm_.pin(h);
    } else {
      evicted_.clear();
      hbm_.insert(h, 1, evicted_);
      stats_.stored_chunks++;
    }
  }
}

KvStore* PrefixCache::lower_holder(uint64_t h) const
{
  KvStore* from = cfg_.below;
  while (from && !from->chunks.contains(h))
    from = from->below;
  return from;
}

long PrefixCache::match(const std::vector<uint64_t>& hashes, long max_tokens) const
{
  const long most = std::min<long>(long(hashes.size()), max_tokens / cfg_.chunk_tokens);
  long k = 0;
  for (; k < most; ++k) {
    const uint64_t h = hashes[size_t(k)];
    if (!hbm_.contains(h) && !lower_holder(h)) break;
  }
  return k * cfg_.chunk_tokens;
}

void PrefixCache::release(const std::vector<uint64_t>& hashes, long& pinned)
{
  for (long i = 0; i < pinned; ++i)
    hbm_.unpin(hashes[size_t(i)]);
  pinned = 0;
}

namespace {
// The chunks of a preempted request's own KV, named apart from prompt hashes (which a trace keeps below 2^63).
uint64_t private_key(long id, long chunk) { return (uint64_t(1) << 63) | (uint64_t(id) << 24) | uint64_t(chunk); }
} // namespace

bool PrefixCache::offload(long id, long tokens)
{
  KvStore* to = cfg_.below;
  if (!cfg_.offload_preempted || !to || tokens <= 0) return false;
  const long n = (tokens + cfg_.chunk_tokens - 1) / cfg_.chunk_tokens;
  for (long i = 0; i < n; ++i) {
    evicted_.clear();
    if (!to->chunks.insert(private_key(id, i), 1, evicted_)) { // no room: take back what went in
      for (long j = 0; j < i; ++j)
        to->chunks.erase(private_key(id, j));
      return false;
    }
    for (uint64_t v : evicted_)
      if (to->below) to->below->demote(v);
  }
  to->stats.stored_chunks += n;
  to->pending_write_bytes += double(tokens) * cfg_.chunk_bytes / double(cfg_.chunk_tokens);
  return true;
}

void PrefixCache::restore(long id, long tokens, std::vector<TierLoad>& loads)
{
  KvStore* from = cfg_.below;
  const long n = (tokens + cfg_.chunk_tokens - 1) / cfg_.chunk_tokens;
  for (long i = 0; i < n; ++i)
    from->chunks.erase(private_key(id, i));
  const double per_token = cfg_.chunk_bytes / double(cfg_.chunk_tokens);
  add_load(loads, from, double(tokens) * per_token, cfg_.link_bandwidth);
}

void PrefixCache::make_room(long blocks)
{
  uint64_t h;
  while (kv_.free_blocks() < blocks && hbm_.evict_one(h)) {
    kv_.drop_cached(chunk_blocks_);
    stats_.evicted_chunks++;
    if (cfg_.below) cfg_.below->demote(h);
  }
}

} // namespace fs
