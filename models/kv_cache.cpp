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
  const long need = blocks_for(tokens) - s.blocks_;
  return need > 0 ? need : 0;
}

bool KvCache::reserve(KvSeq& s, long tokens)
{
  own(s);
  if (s.outgoing_) broken("reserve on an outgoing sequence");
  const long extra = extra_blocks(s, tokens);
  if (extra > free_blocks()) return false;
  if (!s.owner_) {
    s.owner_ = this;
    seqs_++;
  }
  used_ += extra;
  s.blocks_ += extra;
  if (tokens > s.tokens_) s.tokens_ = tokens;
  if (used_ > peak_) peak_ = used_;
  return true;
}

void KvCache::trim(KvSeq& s, long tokens)
{
  own(s);
  if (!s.owner_ || tokens > s.tokens_ || tokens < 0) broken("trim beyond the reservation");
  const long keep = blocks_for(tokens);
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
