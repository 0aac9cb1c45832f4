// The scenario's "pods" key (docs/design.md, "Pods"): the factory as identical pods behind a global router.
#pragma once
#include "json_input.hpp"
#include "scenario.hpp"

namespace fs {

struct ObjectSpec;
const ObjectSpec& pods_spec();
// Reads root's "pods" (when present) into s.pods.
void parse_pods(Scenario& s, const JsonNode& root);
// Checks that the factory splits into s.pods.count identical pods: every pool's servers and every stage's instances
// divide evenly, one pod's share of each pool holds one pod's instances, and nothing is shared between pods (host
// work, tool calls, a remote KV store, a workload that creates requests as it runs). Call once everything else is
// parsed. InputError naming pods.count otherwise.
void check_pods(const Scenario& s, const JsonNode& root);
// "" when no link of the fabric carries two pods' traffic (each rack, and in a fat tree each of its pods, holds the
// servers of one pod only); else which switch the pods share: a run split over ranks then misses, on that switch's
// uplink, the traffic of the pods another rank simulates.
std::string pods_shared_switch(const Scenario& s);
// Pod of instance `index` (0-based, within its stage) of a stage with `instances` instances.
inline int pod_of(int index, int instances, int pods) { return index / (instances / pods); }

} // namespace fs
