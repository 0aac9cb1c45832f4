// Placements: how a scenario's instances are laid out on its pools, registered by JSON "type".
#pragma once
#include "json_input.hpp"
#include "registry.hpp"
#include "scenario.hpp"

namespace fs {

class Placement {
public:
  virtual ~Placement() = default;
  // Instance groups from the placement's JSON object (its "name" and "type" already read).
  virtual std::vector<InstanceGroup> parse(const JsonNode& n) const = 0;
};

using PlacementRegistry = Registry<Placement>;
const PlacementRegistry& placement_registry();

} // namespace fs
