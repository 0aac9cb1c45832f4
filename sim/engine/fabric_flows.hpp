// Which fabric links carry a KV pull now, so that a pull alone on its route can run without SimGrid's network model
// (docs/design.md, "Lone transfers"). Under max-min sharing a flow that shares none of its links with another flow
// gets its route's slowest link, whatever runs elsewhere: such a pull is a timed event (a "lone" pull) until a pull
// that would share one of its links starts; it then goes on in SimGrid with the bytes it has left.
#pragma once
#include "platform.hpp"
#include <algorithm>
#include <vector>

namespace fs {

class FabricFlows {
public:
  explicit FabricFlows(int link_directions) : flows_(size_t(link_directions), 0), lone_(size_t(link_directions), -1) {}

  // Whether no pull uses a link of `route`.
  bool free(const std::vector<FabricHop>& route) const
  {
    for (const FabricHop& h : route)
      if (flows_[size_t(h.link)] != 0) return false;
    return true;
  }
  // The lone pulls on links of `route`, each once, into `out` (cleared first).
  void lone_on(const std::vector<FabricHop>& route, std::vector<long>& out) const
  {
    out.clear();
    for (const FabricHop& h : route)
      if (const long id = lone_[size_t(h.link)]; id >= 0 && std::find(out.begin(), out.end(), id) == out.end())
        out.push_back(id);
  }
  // A pull starts on `route`: lone (id >= 0; every link of the route must be free) or in SimGrid (-1).
  void add(const std::vector<FabricHop>& route, long lone_id)
  {
    for (const FabricHop& h : route) {
      flows_[size_t(h.link)]++;
      lone_[size_t(h.link)] = lone_id;
    }
  }
  // Lone pull `id` on `route` goes on in SimGrid: its links stay taken.
  void to_network_model(const std::vector<FabricHop>& route)
  {
    for (const FabricHop& h : route)
      lone_[size_t(h.link)] = -1;
  }
  // A pull on `route` has moved its last byte.
  void remove(const std::vector<FabricHop>& route)
  {
    for (const FabricHop& h : route) {
      flows_[size_t(h.link)]--;
      lone_[size_t(h.link)] = -1;
    }
  }

private:
  std::vector<int> flows_; // per link direction: pulls using it
  std::vector<long> lone_; // per link direction: the lone pull on it (then its only one), or -1
};

} // namespace fs
