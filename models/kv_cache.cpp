#include "kv_cache.hpp"
#include <stdexcept>
#include <string>

namespace fs {

namespace {
[[noreturn]] void broken(const std::string& what) { throw std::logic_error("KV cache invariant: " + what); }
} // namespace

KvCache::KvCache(long capacity_tokens, int block_tokens) : block_(block_tokens)
{
  if (block_tokens <= 0 || capacity_tokens < 0) broken("block size must be > 0 and capacity >= 0");
  capacity_ = capacity_tokens / block_tokens;
}

void KvCache::own(const KvSeq& s) const
{
  if (s.owner_ && s.owner_ != this) broken("sequence belongs to another cache");
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
    s.owner_ = this;
    seqs_++;
  }
  used_ += extra;
  s.blocks_ += extra;
  if (tokens > s.tokens_) s.tokens_ = tokens;
  if (used_ + cached_ > peak_) peak_ = used_ + cached_;
  return true;
}

void KvCache::start_after(KvSeq& s, long tokens)
{
  own(s);
  if (s.owner_ || tokens % block_ != 0 || tokens < 0) broken("start_after on a held sequence or mid-block");
  s.owner_ = this;
  seqs_++;
  s.base_ = s.tokens_ = tokens;
}

void KvCache::cache_chunk(KvSeq& s, long chunk_tokens)
{
  own(s);
  const long blocks = chunk_tokens / block_;
  if (!s.owner_ || s.outgoing_ || chunk_tokens % block_ != 0 || blocks > s.blocks_ ||
      s.base_ + chunk_tokens > s.tokens_)
    broken("cache_chunk beyond the sequence's computed blocks");
  s.blocks_ -= blocks;
  s.base_ += chunk_tokens;
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
  s.blocks_ = keep;
  s.tokens_ = tokens;
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
