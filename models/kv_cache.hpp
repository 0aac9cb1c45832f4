// The KV cache of one engine instance, in blocks of `block_tokens` tokens (vLLM's paged attention).
// It is the only code that changes KV counts (docs/design.md, "One KV cache"): a sequence's blocks are
// reserved before the step that fills them, grown a block at a time, trimmed when a reservation was not
// used, and freed when the sequence finishes, is preempted, or its KV has left for another instance.
// The O(1) invariants are checked on every call and violations throw std::logic_error.
#pragma once
#include <cstdint>

namespace fs {

class KvCache;

// One sequence's share of a KvCache. Only KvCache changes it.
class KvSeq {
public:
  long tokens() const { return tokens_; } // tokens the blocks are reserved for
  long blocks() const { return blocks_; }
  bool held() const { return owner_ != nullptr; }
  const KvCache* owner() const { return owner_; }
  bool outgoing() const { return outgoing_; } // kept only until a transfer to another instance ends

private:
  friend class KvCache;
  const KvCache* owner_ = nullptr;
  long tokens_ = 0;
  long blocks_ = 0;
  bool outgoing_ = false;
};

class KvCache {
public:
  KvCache() = default;
  // Capacity rounds down to whole blocks.
  KvCache(long capacity_tokens, int block_tokens);

  int block_tokens() const { return block_; }
  long capacity_blocks() const { return capacity_; }
  long used_blocks() const { return used_; }
  long free_blocks() const { return capacity_ - used_; }
  long outgoing_blocks() const { return outgoing_; }
  long peak_blocks() const { return peak_; }
  long sequences() const { return seqs_; }
  long blocks_for(long tokens) const { return tokens <= 0 ? 0 : (tokens + block_ - 1) / block_; }
  // Blocks `s` would have to add to hold `tokens` (0 when it already does).
  long extra_blocks(const KvSeq& s, long tokens) const;
  bool fits(long blocks) const { return blocks <= free_blocks(); }

  // Grows (or starts) `s` to hold `tokens` tokens. False, and nothing changes, when the blocks are not free.
  bool reserve(KvSeq& s, long tokens);
  // Shrinks `s` to `tokens` tokens, returning whole blocks it no longer needs.
  void trim(KvSeq& s, long tokens);
  // Returns every block of `s`.
  void free(KvSeq& s);
  // KV arriving from another instance: blocks for `tokens` reserved before the transfer starts.
  bool transfer_in(KvSeq& s, long tokens) { return reserve(s, tokens); }
  // `s` is being sent to another instance: its blocks move to `held` (empty before), counted as outgoing,
  // until free(held); `s` is left empty for the sequence's next home.
  void transfer_out(KvSeq& s, KvSeq& held);

private:
  void own(const KvSeq& s) const;

  int block_ = 16;
  long capacity_ = 0, used_ = 0, outgoing_ = 0, peak_ = 0, seqs_ = 0;
};

} // namespace fs
