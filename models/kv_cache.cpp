#include "kv_cache.hpp"
#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>

namespace fs {

namespace {
[[noreturn]] void broken(const std::string& what) { throw std::logic_error("KV cache invariant: " + what); }
} // namespace

namespace {
uint32_t next_id()
{
  static std::atomic<uint32_t> n{0}; // caches of every thread (a sweep runs placements in parallel)
  uint32_t id = ++n;
  if (id == 0) id = ++n; // 0 means "no owner"; wrapping after 4e9 caches only weakens the ownership check
  return id;
}
// A sequence's counts are 32-bit (KvSeq): at most the model's max context (<= 1e9 tokens) plus a decode run.
int32_t narrow(long v)
{
  if (v > std::numeric_limits<int32_t>::max() || v < 0) broken("sequence of " + std::to_string(v) + " tokens");
  return int32_t(v);
}
} // namespace

KvCache::KvCache() : id_(next_id()) {}

KvCache::KvCache(long capacity_tokens, int block_tokens) : id_(next_id()), block_(block_tokens)
{
  if (block_tokens <= 0 || capacity_tokens < 0) broken("block size must be > 0 and capacity >= 0");
  capacity_ = capacity_tokens / block_tokens;
}

void KvCache::own(const KvSeq& s) const
{
  if (s.owner_ && s.owner_ != id_) broken("sequence belongs to another cache");
}

long KvCache::extra_blocks(const KvSeq& s, long tokens) const
{
  const long need = blocks_for(tokens - s.base_) - s.blocks_;
  return need > 0 ? need : 0;
}

bool KvCache::make_room(long blocks)
{
  if (blocks > free_blocks() && evictor_) evictor_->make_room(blocks);
  return blocks <= free_blocks();
}

bool KvCache::grow(KvSeq& s, long tokens)
{
  own(s);
  if (s.outgoing_) broken("reserve on an outgoing sequence");
  const long extra = extra_blocks(s, tokens);
  if (!make_room(extra)) return false;
  if (!s.owner_) {
    s.owner_ = id_;
    seqs_++;
  }
  used_ += extra;
  s.blocks_ = narrow(s.blocks_ + extra);
  if (tokens > s.tokens_) s.tokens_ = narrow(tokens);
  if (used_ + cached_ > peak_) peak_ = used_ + cached_;
  return true;
}

bool KvCache::hold(long blocks)
{
  if (blocks < 0) broken("hold of a negative count");
  if (!make_room(blocks)) return false;
  used_ += blocks;
  if (used_ + cached_ > peak_) peak_ = used_ + cached_;
  return true;
}

void KvCache::release(long blocks)
{
  used_ -= blocks; // negative: the run's sequences will settle below what they held when it started
  if (used_ < 0) broken("release of more blocks than held");
}

void KvCache::settle_broken(const KvSeq& s, long tokens) const
{
  own(s);
  if (!s.owner_ || s.outgoing_ || tokens < s.base_) broken("settle of a sequence not running here");
  narrow(tokens);
  broken("settle");
}

void KvCache::start_after(KvSeq& s, long tokens)
{
  own(s);
  if (s.owner_ || tokens % block_ != 0 || tokens < 0) broken("start_after on a held sequence or mid-block");
  s.owner_ = id_;
  seqs_++;
  s.base_ = s.tokens_ = narrow(tokens);
}

void KvCache::cache_chunk(KvSeq& s, long chunk_tokens)
{
  own(s);
  const long blocks = chunk_tokens / block_;
  if (!s.owner_ || s.outgoing_ || chunk_tokens % block_ != 0 || blocks > s.blocks_ ||
      s.base_ + chunk_tokens > s.tokens_)
    broken("cache_chunk beyond the sequence's computed blocks");
  s.blocks_ -= int32_t(blocks);
  s.base_ = narrow(s.base_ + chunk_tokens);
  used_ -= blocks;
  cached_ += blocks;
}

bool KvCache::add_cached(long blocks)
{
  if (!make_room(blocks)) return false;
  cached_ += blocks;
  if (used_ + cached_ > peak_) peak_ = used_ + cached_;
  return true;
}

void KvCache::drop_cached(long blocks)
{
  cached_ -= blocks;
  if (cached_ < 0) broken("more cached blocks dropped than held");
}

void KvCache::trim(KvSeq& s, long tokens)
{
  own(s);
  if (!s.owner_ || tokens > s.tokens_ || tokens < s.base_) broken("trim beyond the reservation");
  const long keep = blocks_for(tokens - s.base_);
  used_ -= s.blocks_ - keep;
  s.blocks_ = int32_t(keep);   // <= blocks_
  s.tokens_ = int32_t(tokens); // <= tokens_
}

void KvCache::free(KvSeq& s)
{
  own(s);
  if (!s.owner_) return;
  used_ -= s.blocks_;
  if (s.outgoing_) outgoing_ -= s.blocks_;
  if (used_ < 0 || outgoing_ < 0) broken("more blocks freed than held");
  seqs_--;
  s = KvSeq();
}

void KvCache::transfer_out(KvSeq& s, KvSeq& held)
{
  own(s);
  if (!s.owner_ || s.outgoing_) broken("transfer_out of a sequence not held here");
  if (held.owner_) broken("transfer_out into a handle that holds blocks");
  held = s;
  held.outgoing_ = true;
  outgoing_ += held.blocks_;
  s = KvSeq();
}

} // namespace fs
