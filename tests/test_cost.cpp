// Cost and power item by item (issue "Heterogeneous factory"): NICs, host CPUs, server chassis, fabric switches
// and optics are each counted (sim/scenario/hardware_cost.hpp, docs/model.md "Cost").
#include "catalog.hpp"
#include "hardware_cost.hpp"
#include "scenario.hpp"
#include <cstdio>
#include <doctest/doctest.h>
#include <filesystem>
#include <unistd.h>

using namespace fs;
namespace stdfs = std::filesystem;

namespace {

struct Totals {
  double capex = 0, power_w = 0;
};

// Sum of count x capex and count x power over the items of `group` ("" = every item).
Totals totals(const std::vector<CostItem>& items, const std::string& group = "", bool exclude = false)
{
  Totals t;
  for (const CostItem& it : items)
    if (group.empty() || (it.group == group) != exclude) {
      t.capex += it.count * it.capex_usd;
      t.power_w += it.count * it.avg_power_w;
    }
  return t;
}

// The default scenario with `sets` applied, its items at a fixed 400 W per chip.
std::vector<CostItem> items_of(const std::vector<std::string>& sets)
{
  const Scenario s = load_scenario("", sets);
  return hardware_items(s, {{"h100", 400.0}});
}

// Runs factorysim with `args` and returns its exit code and standard output.
std::pair<int, std::string> run_cli(const std::string& args)
{
  const std::string cmd = std::string(FACTORYSIM_BIN) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

} // namespace

TEST_CASE("every part of a server is a cost item, and the parts add up to the server")
{
  const Scenario s = load_scenario("");
  const auto items = hardware_items(s, {{"h100", 400.0}});
  const Catalog cat = load_catalog();
  const ServerSpec& sv = cat.servers.at("HGX-H100-8");
  std::map<std::string, const CostItem*> by_kind;
  for (const CostItem& it : items)
    if (it.group == "h100") by_kind[it.kind] = &it;
  REQUIRE(by_kind.size() == 4);
  CHECK(by_kind["chip"]->count == 32);
  CHECK(by_kind["nic"]->count == 32);
  CHECK(by_kind["nic"]->capex_usd == sv.nic.price_usd);
  CHECK(by_kind["cpu"]->count == 8);
  CHECK(by_kind["cpu"]->avg_power_w == doctest::Approx(sv.cpu.tdp_w * sv.cpu.serving_power_fraction));
  CHECK(by_kind["chassis"]->count == 4);
  // servers.json's chassis figures are the old whole-server lump less the NICs and CPUs counted apart.
  const double lump_usd = sv.other_capex_usd + 8 * sv.nic.price_usd + 2 * sv.cpu.price_usd;
  const double lump_w = sv.base_power_w + 8 * sv.nic.power_w + 2 * sv.cpu.serving_power_w();
  CHECK(lump_usd == doctest::Approx(97000));
  CHECK(lump_w == doctest::Approx(2900));
}

TEST_CASE("changing the NIC changes capex and power by the NIC count x the price and power difference")
{
  const Catalog cat = load_catalog();
  const NicSpec &cx7 = cat.nics.at("CX7-400G"), &cx8 = cat.nics.at("CX8-800G");
  const double nics = 4 * 8;
  const auto a = items_of({"pools[0].nic=CX7-400G"});
  const auto b = items_of({"pools[0].nic=CX8-800G"});
  // The servers' parts: exactly the NICs' difference.
  const Totals sa = totals(a, "fabric", true), sb = totals(b, "fabric", true);
  CHECK(sb.capex - sa.capex == doctest::Approx(nics * (cx8.price_usd - cx7.price_usd)));
  CHECK(sb.power_w - sa.power_w == doctest::Approx(nics * (cx8.power_w - cx7.power_w)));
  // Twice the NIC bandwidth also needs twice the 400G leaf ports and uplinks: 2 racks of 2 servers, 16 NICs of
  // 800G = 32 leaf ports + 12800/2/400 = 16 uplinks each; 2 leaves, 1 spine, 2 x (32 + 16) + 32 = 128 optics.
  const Totals fa = totals(a, "fabric"), fb = totals(b, "fabric");
  const SwitchSpec& qm = cat.switches.at("QM9700");
  CHECK(fb.capex - fa.capex == doctest::Approx((128 - 64) * qm.optic_price_usd));
  // At the same line rate the fabric is the same, and the whole factory moves by the NICs alone.
  const auto c = items_of({"pools[0].nic=CX8-800G", "pools[0].nic_bandwidth_gbps=400"});
  CHECK(totals(c).capex - totals(a).capex == doctest::Approx(nics * (cx8.price_usd - cx7.price_usd)));
  CHECK(totals(c).power_w - totals(a).power_w == doctest::Approx(nics * (cx8.power_w - cx7.power_w)));
}

TEST_CASE("the NIC's price and power reach summary.json")
{
  const stdfs::path t = stdfs::temp_directory_path() / ("factorysim_cost_" + std::to_string(getpid()));
  stdfs::remove_all(t);
  const std::string base = "run scenarios/default.json --placement colocated --set workload.duration_s=20 --set "
                           "sim.warmup_s=2 --set 'pools[0].nic_bandwidth_gbps=400' -o ";
  REQUIRE(run_cli(base + (t / "a").string() + " --set 'pools[0].nic=CX7-400G'").first == 0);
  REQUIRE(run_cli(base + (t / "b").string() + " --set 'pools[0].nic=CX8-800G'").first == 0);
  const Json a = read_json_file((t / "a" / "colocated" / "summary.json").string());
  const Json b = read_json_file((t / "b" / "colocated" / "summary.json").string());
  stdfs::remove_all(t);
  // Colocated TP4 instances never use the NICs, so the chips draw the same; only the NICs differ.
  CHECK(b["cost"]["capex_usd"].get<double>() - a["cost"]["capex_usd"].get<double>() ==
        doctest::Approx(32 * (5000 - 3000)));
  CHECK(b["power_kw"].get<double>() - a["power_kw"].get<double>() == doctest::Approx(32 * (45 - 30) / 1000.0));
  double share = 0, usd_h = 0;
  for (const Json& it : a["cost"]["items"]) {
    share += it["share"].get<double>();
    usd_h += it["usd_per_hour"].get<double>();
    if (it["kind"] == "nic") CHECK(it["capex_usd_each"].get<double>() == 3000);
  }
  // The items are the hardware and its energy; the facility and operations make up the rest of the total.
  const Json& c = a["cost"];
  const double rest = c["facility_usd_per_hour"].get<double>() + c["operations_usd_per_hour"].get<double>();
  CHECK(rest > 0);
  CHECK(share == doctest::Approx(1 - rest / c["usd_per_hour"].get<double>()));
  CHECK(usd_h + rest == doctest::Approx(c["usd_per_hour"].get<double>()));
}

TEST_CASE("leaf/spine switch and optic counts match a hand calculation")
{
  // Directly: 3 racks of 4, 4 and 2 servers with 8 x 400G NICs each, 2:1 oversubscribed, 64-port 400G switches.
  const double g400 = 400e9 / 8;
  FabricCount f = leaf_spine_count({32 * g400, 32 * g400, 16 * g400}, g400, 64, 2);
  // Leaf ports: 32 + 16 uplinks = 48 (one leaf), 48 (one leaf), 16 + 8 = 24 (one leaf); spine: 40 ports, 1 switch.
  CHECK(f.racks == 3);
  CHECK(f.leaves == 3);
  CHECK(f.spines == 1);
  CHECK(f.nic_ports == 80);
  CHECK(f.uplink_ports == 40);
  CHECK(f.optics() == 80 + 2 * 40);
  // One rack needs no spine and no uplinks.
  f = leaf_spine_count({32 * g400}, g400, 64, 1);
  CHECK(f.leaves == 1);
  CHECK(f.spines == 0);
  CHECK(f.optics() == 32);

  // Through a scenario: 10 HGX-H100 servers, 8 per rack, non-blocking. Rack 1: 64 NIC ports + 64 uplinks = 128
  // ports = 2 leaves; rack 2: 16 + 16 = 32 ports = 1 leaf; spine 64 + 16 = 80 ports = 2 switches;
  // optics 80 + 2 x 80 = 240.
  const Scenario s = load_scenario(
      "", {"pools[0].servers=10", "fabric.servers_per_rack=8", "fabric.oversubscription=1", "fabric.switch=QM9700"});
  f = fabric_count(s);
  CHECK(f.racks == 2);
  CHECK(f.leaves == 3);
  CHECK(f.spines == 2);
  CHECK(f.optics() == 240);
  // On 800G switches the same NIC bandwidth takes half the ports: rack 1 32 + 32 = 64 ports = 1 leaf, rack 2
  // 8 + 8 = 16 = 1 leaf; spine 40 ports = 1 switch; optics 40 + 2 x 40 = 120.
  f = fabric_count(load_scenario(
      "", {"pools[0].servers=10", "fabric.servers_per_rack=8", "fabric.oversubscription=1", "fabric.switch=SN5600"}));
  CHECK(f.leaves == 2);
  CHECK(f.spines == 1);
  CHECK(f.optics() == 120);
  const auto items = hardware_items(s, {});
  const Catalog cat = load_catalog();
  const SwitchSpec& qm = cat.switches.at("QM9700");
  const Totals fab = totals(items, "fabric");
  CHECK(fab.capex == doctest::Approx(5 * qm.price_usd + 240 * qm.optic_price_usd));
  CHECK(fab.power_w == doctest::Approx(5 * qm.power_w + 240 * qm.optic_power_w));
}

TEST_CASE("a fat tree is costed on its own shape")
{
  // 4 servers on a k=4 fat tree: 2 edge switches of 2 servers, one pod of 2 aggregation switches, no core.
  // Edge: 2 x 3200G / 400G = 16 server ports + 2 aggregation links of 3200G / 2 (oversubscription) = 4 ports
  // each = 24 ports; aggregation: 2 edge links x 4 ports = 8 ports. Switches 2 + 2, optics 2 x 24 + 2 x 8 = 64.
  const Scenario s = load_scenario("", {"fabric.type=fat_tree", "fabric.servers_per_rack=null"});
  const FabricCount f = fabric_count(s);
  CHECK(f.leaves == 2);
  CHECK(f.aggregations == 2);
  CHECK(f.cores == 0);
  CHECK(f.switches() == 4);
  CHECK(f.optics() == 64);
}

TEST_CASE("a bad fabric.switch is an input error naming the JSON path")
{
  try {
    load_scenario("", {"fabric.switch=QM9999"});
    FAIL("accepted an unknown switch");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK(what.find("fabric.switch") != std::string::npos);
    CHECK(what.find("unknown switch \"QM9999\"") != std::string::npos);
    CHECK(what.find("QM9700") != std::string::npos); // lists the known ones
  }
  CHECK_THROWS_AS(load_scenario("", {"fabric.switch=7"}), InputError);
}

TEST_CASE("the resolved scenario carries the switch it used")
{
  const Scenario s = load_scenario("", {"fabric.switch=Q3400"});
  CHECK(s.resolved["fabric"]["switch"] == "Q3400");
  CHECK(s.resolved["catalog"]["switches"]["Q3400"]["ports"]["value"] == 144);
  CHECK(s.resolved["catalog"]["switches"].size() == 1);
}

TEST_CASE("factorysim describe H100 prints every field with its unit and source")
{
  const auto [code, out] = run_cli("describe H100");
  REQUIRE(code == 0);
  const Json h100 = read_json_file("scenarios/catalog/chips.json")["chips"]["H100"];
  const Json& bf16 = h100["peak_tflops"]["bf16"];
  CHECK(out.find("peak_tflops.bf16") != std::string::npos);
  CHECK(out.find(format_number(bf16["value"].get<double>()) + " TFLOP/s") != std::string::npos);
  CHECK(out.find(bf16["source"].get<std::string>()) != std::string::npos);
  CHECK(out.find("memory_bandwidth_tb_per_s") != std::string::npos);
  CHECK(out.find("scale-up domain") != std::string::npos);
  CHECK(out.find(h100["price_usd"]["source"].get<std::string>()) != std::string::npos);
  const auto sw = run_cli("describe SN5600");
  CHECK(sw.first == 0);
  CHECK(sw.second.find("800 Gb/s") != std::string::npos);
  CHECK(run_cli("describe NoSuchChip").first == 2);
  CHECK(run_cli("list").second.find("QM9700") != std::string::npos);
}
