// The KV cache of one engine instance, in blocks of `block_tokens` tokens (vLLM's paged attention).
// It is the only code that changes KV counts (docs/design.md, "One KV cache"): a sequence's blocks are
// reserved before the step that fills them, grown a block at a time, trimmed when a reservation was not
// used, and freed when the sequence finishes, is preempted, or its KV has left for another instance. With prefix
// caching, whole prompt chunks of a sequence may move into the cache (`cache_chunk`), where they are shared by
// every sequence with that prefix and stay, evictable, after their last user leaves; a sequence's own blocks then
// start after its `base_tokens` (docs/design.md, "Prefix caching").
// The O(1) invariants are checked on every call and violations throw std::logic_error.
#pragma once
#include <cstdint>

namespace fs {

class KvCache;

// One sequence's share of a KvCache. Only KvCache changes it.
// 20 bytes, so that a Request's decode-hot fields fit one cache line with it (request.hpp): its owner is the cache's
// id, and its counts are 32-bit (a sequence holds at most the model's max context, <= 1e9 tokens: catalog.cpp).
class KvSeq {
public:
  long tokens() const { return tokens_; } // tokens the blocks are reserved for
  long blocks() const { return blocks_; }
  bool held() const { return owner_ != 0; }
  bool held_by(const KvCache& c) const;
  bool outgoing() const { return outgoing_; } // kept only until a transfer to another instance ends
  long base_tokens() const { return base_; }  // leading tokens held in shared cached chunks, not in its blocks

private:
  friend class KvCache;
  uint32_t owner_ = 0; // KvCache::id_; 0: none
  int32_t tokens_ = 0;
  int32_t blocks_ = 0;
  int32_t base_ = 0;
  bool outgoing_ = false;
};

// Frees cached chunks nobody uses when a reservation needs their blocks (the prefix cache's eviction policy).
class KvEvictor {
public:
  virtual ~KvEvictor() = default;
  // Evicts unused cached chunks until `blocks` are free or none is left.
  virtual void make_room(long blocks) = 0;
  virtual long evictable_blocks() const = 0;
};

class KvCache {
  friend class KvSeq;

public:
  KvCache();
  // Capacity rounds down to whole blocks.
  KvCache(long capacity_tokens, int block_tokens);
  KvCache(const KvCache&) = delete; // its sequences record its id
  KvCache& operator=(const KvCache&) = delete;

  int block_tokens() const { return block_; }
  long capacity_blocks() const { return capacity_; }
  long used_blocks() const { return used_; }
  long free_blocks() const { return capacity_ - used_ - cached_; }
  long cached_blocks() const { return cached_; } // in cached prefix chunks (shared, some evictable)
  // Free, or free once unused cached chunks are evicted.
  long available_blocks() const { return free_blocks() + (evictor_ ? evictor_->evictable_blocks() : 0); }
  long outgoing_blocks() const { return outgoing_; }
  long peak_blocks() const { return peak_; }
  long sequences() const { return seqs_; }
  long blocks_for(long tokens) const { return tokens <= 0 ? 0 : (tokens + block_ - 1) / block_; }
  // Blocks `s` would have to add to hold `tokens` (0 when it already does).
  long extra_blocks(const KvSeq& s, long tokens) const;
  bool fits(long blocks) const { return blocks <= available_blocks(); }
  void set_evictor(KvEvictor* e) { evictor_ = e; }

  // Grows (or starts) `s` to hold `tokens` tokens. False, and nothing changes, when the blocks are not free.
  bool reserve(KvSeq& s, long tokens)
  {
    // Most calls (a decode step's next token) fit the blocks it holds: inline, no division.
    if (s.owner_ == id_ && !s.outgoing_ && tokens - s.base_ <= long(s.blocks_) * block_) {
      if (tokens > s.tokens_) s.tokens_ = int32_t(tokens);
      return true;
    }
    return grow(s, tokens);
  }
  // Shrinks `s` to `tokens` tokens, returning whole blocks it no longer needs.
  void trim(KvSeq& s, long tokens);
  // Returns every block of `s`.
  void free(KvSeq& s);
  // A decode run's blocks, held as one count for all its sequences rather than grown in each (EngineCore::start_run):
  // `hold` takes `blocks` (evicting unused cached chunks if it must; false, and nothing changes, when they are not
  // free), `release` gives `blocks` of them back (a negative count when its sequences settle below what they held), and
  // `settle` sets a sequence to hold exactly `tokens` (blocks it gains come out of the held count, which its caller
  // releases; no free-block check).
  bool hold(long blocks);
  void release(long blocks);
  void settle(KvSeq& s, long tokens) // inline: every sequence of a decode run, when it lands
  {
    if (s.owner_ != id_ || s.outgoing_ || tokens < s.base_ || tokens > INT32_MAX) settle_broken(s, tokens);
    const long keep = blocks_for(tokens - s.base_);
    used_ += keep - s.blocks_;
    s.blocks_ = int32_t(keep); // <= tokens
    s.tokens_ = int32_t(tokens);
  }
  // KV arriving from another instance: blocks for `tokens` reserved before the transfer starts.
  bool transfer_in(KvSeq& s, long tokens) { return reserve(s, tokens); }
  // `s` is being sent to another instance: its blocks move to `held` (empty before), counted as outgoing,
  // until free(held); `s` is left empty for the sequence's next home.
  void transfer_out(KvSeq& s, KvSeq& held);

  // Prefix caching. A sequence that found its first `tokens` (whole blocks) in the cache starts there: its own
  // blocks hold what follows. `s` is empty before.
  void start_after(KvSeq& s, long tokens);
  // The `chunk_tokens` tokens of `s` after its base (whole blocks, all computed) move into the cache: the
  // sequence now shares them, and its base grows.
  void cache_chunk(KvSeq& s, long chunk_tokens);
  // Blocks for a chunk loaded from another tier (or dropped when evicted); false when they are not free.
  bool add_cached(long blocks);
  void drop_cached(long blocks);

private:
  void own(const KvSeq& s) const;
  bool grow(KvSeq& s, long tokens); // reserve() when it needs blocks or starts the sequence
  [[noreturn]] void settle_broken(const KvSeq& s, long tokens) const;
  bool make_room(long blocks); // frees evictable cached chunks until `blocks` are free

  uint32_t id_; // what a KvSeq it holds records as its owner (unique in the process)
  int block_ = 16;
  long capacity_ = 0, used_ = 0, outgoing_ = 0, peak_ = 0, seqs_ = 0, cached_ = 0;
  KvEvictor* evictor_ = nullptr;
};

inline bool KvSeq::held_by(const KvCache& c) const { return owner_ != 0 && owner_ == c.id_; }

} // namespace fs
