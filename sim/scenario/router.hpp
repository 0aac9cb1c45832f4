// Routers pick the instance of a group (the entry stages, or the stages a prefill stage hands off to) that
// gets a request, registered by JSON "type". They see instances only through read-only views.
#pragma once
#include "registry.hpp"
#include "request.hpp"
#include "scenario.hpp"
#include <cstdint>
#include <string>
#include <vector>

namespace fs {

// What a router may know about an instance, as of now.
struct InstanceView {
  const std::string* name = nullptr;
  const std::string* stage = nullptr;
  const std::string* pool = nullptr;
  const std::string* chip = nullptr;
  Role role = Role::mixed;
  int chips = 0;
  long waiting = 0;     // requests queued, not admitted (prompts, recomputes, hand-offs)
  long running = 0;     // admitted
  long outstanding = 0; // tokens of work owed (queued prefill + remaining decode)
  long kv_free_blocks = 0, kv_capacity_blocks = 0;
  int kv_block_tokens = 16;
  long cached_prefix_tokens = 0; // prompt tokens of this request it could start after (routers that ask for it)
};

class Router {
public:
  virtual ~Router() = default;
  // Index into `views` (never empty) of the instance that gets `r`.
  virtual size_t pick(const std::vector<InstanceView>& views, const Request& r) = 0;
  // Whether pick() reads InstanceView::cached_prefix_tokens (its lookup costs a walk of the request's hashes).
  virtual bool wants_prefix() const { return false; }

  // How the factory may answer pick() without building a view of every instance when all instances of a group may
  // take the request (docs/design.md, "Speed"): `views` builds them all; `least_outstanding` takes the first
  // instance owing the fewest tokens, which the factory keeps in an index; `blind` asks pick_blind(), for routers
  // that read no view. Either way the choice is the one pick() would make.
  enum class Shortcut { views, least_outstanding, blind };
  virtual Shortcut shortcut() const { return Shortcut::views; }
  // Shortcut::blind: the index among `n` instances (n > 0) that pick() would return.
  virtual size_t pick_blind(size_t n, const Request& r);
};

// The first of the views owing the fewest tokens (InstanceView::outstanding).
size_t least_outstanding(const std::vector<InstanceView>& v);

using RouterRegistry = Registry<Router, uint64_t>;
const RouterRegistry& router_registry();

} // namespace fs
