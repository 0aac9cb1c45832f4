// Sweep files: axes (lists, log and linear ranges, zip groups), filters, point ids, and errors that name the sweep
// file and the JSON path (sim/scenario/sweep_spec.hpp, sweep_expr.hpp).
#include "sweep_expr.hpp"
#include "sweep_spec.hpp"
#include <doctest/doctest.h>
#include <set>

using fs::Json;

namespace {

// A sweep over the default study, base inline (paths in it resolve from the sweep file's folder).
Json sweep_doc(Json axes)
{
  Json base = fs::read_json_file("scenarios/default.json");
  base["workload"]["duration_s"] = 20;
  base["sim"]["warmup_s"] = 2;
  return {{"base", base}, {"axes", std::move(axes)}};
}

std::string sweep_error(const Json& doc)
{
  try {
    fs::expand_sweep(fs::parse_sweep(doc, "s.json"));
  } catch (const fs::InputError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> axis_values(const fs::SweepAxis& a)
{
  std::vector<std::string> v;
  for (auto const& x : a.values)
    v.push_back(x.dump());
  return v;
}

} // namespace

TEST_CASE("sweep axes: lists, log and linear ranges rounded to 3 significant digits, integers on request")
{
  const Json d = sweep_doc(Json::array({
      {{"path", "pools[0].server"}, {"values", {"HGX-H100-8", "HGX-H200-8"}}},
      {{"path", "workload.qps"}, {"range", {{"from", 1}, {"to", 64}, {"scale", "log"}, {"points", 7}}}},
      {{"path", "scheduler.gpu_memory_utilization"}, {"range", {{"from", 0.8}, {"to", 0.9}, {"points", 3}}}},
      {{"path", "sim.warmup_s"},
       {"range", {{"from", 1}, {"to", 10}, {"scale", "log"}, {"points", 6}, {"integer", true}}}},
  }));
  const fs::SweepSpec sw = fs::parse_sweep(d, "s.json");
  REQUIRE(sw.axes.size() == 4);
  CHECK(axis_values(sw.axes[0]) == std::vector<std::string>{"\"HGX-H100-8\"", "\"HGX-H200-8\""});
  CHECK(axis_values(sw.axes[1]) == std::vector<std::string>{"1", "2", "4", "8", "16", "32", "64"});
  CHECK(axis_values(sw.axes[2]) == std::vector<std::string>{"0.8", "0.85", "0.9"});
  // 1, 1.58, 2.51, 3.98, 6.31, 10 rounded: duplicates dropped
  CHECK(axis_values(sw.axes[3]) == std::vector<std::string>{"1", "2", "3", "4", "6", "10"});
  CHECK(sw.dims.size() == 4);
  const fs::Json log3 = sweep_doc(Json::array(
      {{{"path", "workload.qps"}, {"range", {{"from", 8}, {"to", 128}, {"scale", "log"}, {"points", 9}}}}}));
  CHECK(axis_values(fs::parse_sweep(log3, "s.json").axes[0]) ==
        std::vector<std::string>{"8", "11.3", "16", "22.6", "32", "45.3", "64", "90.5", "128"});
}

TEST_CASE("sweep expansion: Cartesian product, zip groups, last axis fastest, sets and deterministic ids")
{
  Json d = sweep_doc(Json::array({
      {{"path", "workload.qps"}, {"values", {10, 20}}},
      {{"path", "placements[1].prefill.instances"}, {"values", {2, 4, 6}}},
      {{"path", "placements[1].decode.instances"}, {"values", {6, 4, 2}}},
  }));
  d["zip"] = Json::array({Json::array({"placements[1].prefill.instances", "placements[1].decode.instances"})});
  const fs::SweepSpec sw = fs::parse_sweep(d, "s.json");
  REQUIRE(sw.dims.size() == 2);
  const fs::SweepExpansion ex = fs::expand_sweep(sw);
  REQUIRE(ex.product == 6);
  REQUIRE(ex.points.size() == 6);
  CHECK(ex.points[0].sets == std::vector<std::string>{"workload.qps=10", "placements[1].prefill.instances=2",
                                                      "placements[1].decode.instances=6"});
  CHECK(ex.points[1].doc["placements"][1]["prefill"]["instances"] == 4);
  CHECK(ex.points[1].doc["placements"][1]["decode"]["instances"] == 4);
  CHECK(ex.points[3].doc["workload"]["qps"] == 20);
  CHECK(ex.points[5].doc["placements"][1]["decode"]["instances"] == 2);
  std::set<std::string> ids;
  for (size_t i = 0; i < ex.points.size(); ++i) {
    CHECK(ex.points[i].index == i);
    CHECK(ex.points[i].id.size() == 12);
    CHECK(ex.points[i].status == "pending");
    CHECK(ex.points[i].chips == 32);
    ids.insert(ex.points[i].id);
  }
  CHECK(ids.size() == 6);
  // The same definition gives the same ids; a changed base gives new ones (and keeps the index order).
  CHECK(fs::expand_sweep(fs::parse_sweep(d, "s.json")).points[4].id == ex.points[4].id);
  Json changed = d;
  changed["base"]["seed"] = 7;
  CHECK(fs::expand_sweep(fs::parse_sweep(changed, "s.json")).points[4].id != ex.points[4].id);
  // A --set from the command line is part of every point.
  const fs::SweepExpansion with_set = fs::expand_sweep(fs::parse_sweep(d, "s.json", {"sim.mode=exact"}));
  CHECK(with_set.points[0].sets.front() == "sim.mode=exact");
  CHECK(with_set.points[0].id != ex.points[0].id);
}

TEST_CASE("sweep filters: where expressions, chips and estimated IT power; infeasible points are kept")
{
  Json d = sweep_doc(Json::array({
      {{"path", "placements[0].instances"}, {"values", {2, 4, 8}}},
      {{"path", "placements[0].tp"}, {"values", {3, 4}}}, // 3 does not divide Llama-3.1-70B's heads
  }));
  d["placements"] = Json::array({"colocated"});
  d["filters"] = {{"where", {"placements[0].instances * placements[0].tp >= 8"}}, {"max_chips", 16}};
  const fs::SweepExpansion ex = fs::expand_sweep(fs::parse_sweep(d, "s.json"));
  CHECK(ex.product == 6);
  // (2,3) fails `where`; (8,4) is 32 chips; (8,3) is infeasible, kept with its error.
  REQUIRE(ex.points.size() == 4);
  CHECK(ex.filtered == 2);
  std::vector<size_t> idx;
  for (auto const& p : ex.points)
    idx.push_back(p.index);
  CHECK(idx == std::vector<size_t>{1, 2, 3, 4});
  CHECK(ex.points[0].status == "pending");
  CHECK(ex.points[0].chips == 8);
  CHECK(ex.points[0].it_power_kw == doctest::Approx(5.6)); // 8 H100 at 700 W TDP
  CHECK(ex.points[1].status == "infeasible");
  CHECK(ex.points[1].error.find("tp") != std::string::npos);
  d["filters"] = {{"max_it_power_kw", 6}};
  const fs::SweepExpansion by_power = fs::expand_sweep(fs::parse_sweep(d, "s.json"));
  CHECK(by_power.points.size() == 4); // 8 chips at most, and the 3 infeasible points
  CHECK(by_power.filtered == 2);
}

TEST_CASE("sweep where-expressions")
{
  const Json doc = {{"a", 4}, {"b", {{"c", 2.5}}}, {"s", "HGX-H100-8"}, {"l", {1, 2}}};
  auto ev = [&](const std::string& e) { return fs::eval_where(e, doc, "w"); };
  CHECK(ev("a * b.c == 10"));
  CHECK(ev("a - 1 > 2 && !(a < 0)"));
  CHECK(ev("s == \"HGX-H100-8\" || a > 100"));
  CHECK(ev("l[1] + -l[0] == 1"));
  CHECK_FALSE(ev("a / 2 >= 3"));
  CHECK(ev("true"));
  CHECK_THROWS_WITH_AS(ev("a >"), "w: expected an operand at the end in \"a >\"", fs::InputError);
  CHECK_THROWS_WITH_AS(ev("x.y > 1"), "w: the scenario has no value at x.y in \"x.y > 1\"", fs::InputError);
  CHECK_THROWS_AS(ev("s > 1"), fs::InputError);
  CHECK_THROWS_AS(ev("(a > 1"), fs::InputError);
}

TEST_CASE("bad sweep files: errors name the sweep file and the JSON path")
{
  auto axes = [](Json a) { return sweep_doc(Json::array({std::move(a)})); };
  CHECK(sweep_error(sweep_doc(Json::array())) == "s.json: axes: expected at least one axis");
  CHECK(sweep_error(axes({{"path", "workload.qps"}})) ==
        "s.json: axes[0]: expected exactly one of \"values\" (a list) or \"range\"");
  CHECK(sweep_error(
            axes({{"path", "workload.qps"}, {"range", {{"from", 0}, {"to", 8}, {"scale", "log"}, {"points", 3}}}})) ==
        "s.json: axes[0].range: a log range needs \"from\" and \"to\" above 0");
  CHECK(sweep_error(axes({{"path", "workload.qps"}, {"values", {1}}, {"colour", 1}})) ==
        "s.json: axes[0].colour: unknown key");
  CHECK(sweep_error(axes({{"path", "workload.qps"}, {"values", {1, 2}}, {"labels", {"a"}}})) ==
        "s.json: axes[0].labels: expected one label per value (2), got 1");
  CHECK(sweep_error(axes({{"path", "pools[3].servers"}, {"values", {1}}}))
            .rfind("s.json: axes[0].path: --set "
                   "pools[3].servers=1: index 3 out of range",
                   0) == 0);
  Json z =
      sweep_doc(Json::array({{{"path", "workload.qps"}, {"values", {1, 2}}}, {{"path", "seed"}, {"values", {1}}}}));
  z["zip"] = Json::array({Json::array({"workload.qps", "seed"})});
  CHECK(sweep_error(z).rfind("s.json: zip[0][1]: axis \"seed\" has 1 values", 0) == 0);
  Json b = sweep_doc(Json::array({{{"path", "workload.qps"}, {"values", {1}}}}));
  b["base"] = "missing.json";
  CHECK(sweep_error(b).rfind("s.json: base: ", 0) == 0);
  b["base"] = 3;
  CHECK(sweep_error(b).rfind("s.json: base: expected a scenario path", 0) == 0);
  // Every point invalid: an input error, with the first point's reason.
  CHECK(sweep_error(axes({{"path", "workload.qsp"}, {"values", {1}}}))
            .rfind("s.json: no point of the sweep is a "
                   "valid scenario; the first: ",
                   0) == 0);
  // Two points that are one scenario.
  CHECK(sweep_error(axes({{"path", "workload.qps"}, {"values", {30, 30}}})) ==
        "s.json: axes: points 0 and 1 are the same scenario (an axis value that changes nothing?)");
  Json w = sweep_doc(Json::array({{{"path", "workload.qps"}, {"values", {1}}}}));
  w["filters"] = {{"where", {"workload.qps >"}}};
  CHECK(sweep_error(w).rfind("s.json: filters.where[0]: expected an operand", 0) == 0);
}
