// What a factory's hardware is, part by part, for cost and power (docs/model.md, "Cost"; docs/metrics.md,
// "Energy and cost"): per pool its chips, NICs, host CPUs and the server chassis; the fabric's switches and optics.
#pragma once
#include "cost.hpp"
#include "scenario.hpp"
#include <map>
#include <string>
#include <vector>

namespace fs {

// The NIC bandwidth (bytes/s) under each leaf of the leaf/spine fabric, as sim/engine/platform.cpp builds it:
// servers fill racks of fabric.servers_per_rack in pool order (a rack may hold servers of two pools).
// `per_rack` servers under each (0: fabric.servers_per_rack).
std::vector<double> rack_nic_bandwidth(const Scenario& s, int per_rack = 0);

// The fabric's switches and optics with the scenario's fabric.switch: leaf_spine by models/cost.hpp,
// leaf_spine_count; fat_tree by the shape of sim/scenario/topology.hpp (each edge, aggregation and core position
// takes ceil(its ports in use / switch ports) switches; one optic per port in use).
FabricCount fabric_count(const Scenario& s);

// Every part of the factory as a cost item: per pool (group = pool name) its chips (kind "chip", at
// chip_power_w[pool] each, idle power when the pool is not in the map), NICs ("nic"), host CPUs ("cpu", at
// cpu_power_w[pool] each, their serving power when the pool is not in the map) and server chassis ("chassis": the
// server's other_capex_usd and base_power_w), KV-cache storage devices ("storage", kv_hierarchy.hpp kv_storage);
// then the fabric (group "fabric"): leaf and spine switches ("switch") and
// one optic per switch port in use ("optic"). Items with a count of zero are left out. Each item's rated_power_w is
// its nameplate power (chips and CPUs: TDP), which sizes the facility.
std::vector<CostItem> hardware_items(const Scenario& s, const std::map<std::string, double>& chip_power_w,
                                     const std::map<std::string, double>& cpu_power_w = {});

} // namespace fs
