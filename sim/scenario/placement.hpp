// Placements: how a scenario's instances are laid out on its pools, as a list of stages joined by hand-off
// edges (docs/design.md, "Stages"). Variants are registered by JSON "type"; each parses and writes back its
// own JSON, and all of them produce the same StageConfig list, so the engine has no per-variant code.
#pragma once
#include "json_input.hpp"
#include "memory.hpp"
#include "registry.hpp"
#include "scenario.hpp"

namespace fs {

class Placement {
public:
  virtual ~Placement() = default;
  // Stages from the placement's JSON object (its "name" and "type" already read); `defaults` is the
  // scenario's scheduler, which a stage may override.
  virtual std::vector<StageConfig> parse(const JsonNode& n, const SchedulerConfig& defaults) const = 0;
  // The placement's JSON as parse() reads it (without "name" and "type").
  virtual Json to_json(const PlacementConfig& pc, const SchedulerConfig& defaults) const = 0;
  // The keys parse() reads besides "name" and "type".
  virtual const ObjectSpec& spec() const = 0;
};

using PlacementRegistry = Registry<Placement>;
const PlacementRegistry& placement_registry();
// A "placements" element: name, type, and the keys of its type.
const ObjectSpec& placement_spec();

// Checks the stage graph (unique names, hand-offs from prefill to decode stages only, every decode stage fed,
// at least one entry stage); errors name the JSON path under `n`.
void validate_stages(const std::vector<StageConfig>& stages, const JsonNode& n);

// Activation bytes an SRAM-pipeline chip keeps for a step: the hidden states of max_num_batched_tokens tokens
// in and out (bf16), which sit in SRAM beside the chip's slice of weights and KV cache.
double sram_activation_bytes(const Scenario& s, const StageConfig& st);
// The memory plan of one instance of `st` (parallelism already sized).
MemoryPlan stage_memory(const Scenario& s, const StageConfig& st);

// Chip slots per server of a pool. An instance takes tp x pp chips on one server, or whole consecutive
// servers when it needs more than one server holds.
class ChipAllocator {
public:
  ChipAllocator(int servers, int chips_per_server);
  int take(int chips); // index of the instance's first server, -1 when no room is left

private:
  std::vector<int> free_;
  int per_server_;
};

} // namespace fs
