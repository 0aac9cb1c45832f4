// Bad input: each error names the file, the JSON path and what was expected.
#include "catalog.hpp"
#include "scenario.hpp"
#include "support.hpp"
#include <doctest/doctest.h>

using namespace fs;

namespace {
Json base() { return Json::parse(embedded_file("default.json")); }

std::string error_of(const Json& doc) { return test::scenario_error(doc); }
} // namespace

TEST_CASE("the embedded default scenario parses and resolves")
{
  Scenario s = parse_scenario(base(), "default");
  CHECK(s.placements.size() == 2);
  CHECK(s.pools.at(0).chips() == 32);
  CHECK(s.resolved["catalog"]["chips"]["H100"]["tdp_w"]["source"].get<std::string>().size() > 10);
  CHECK(s.resolved["catalog"]["servers"].contains("HGX-H100-8"));
}

TEST_CASE("scenario errors name the path")
{
  Json d = base();
  d["no_such_key_xyz"] = 1;
  CHECK(error_of(d) == "t.json: no_such_key_xyz: unknown key");

  d = base();
  d["pools"][0]["chip"] = "H300";
  CHECK(error_of(d).rfind("t.json: pools[0].chip: unknown chip \"H300\"; known: A100", 0) == 0);

  d = base();
  d["model"] = "GPT-9";
  CHECK(error_of(d).find("t.json: model: unknown model \"GPT-9\"") == 0);

  d = base();
  d["pools"][0]["servers"] = -2;
  CHECK(error_of(d) == "t.json: pools[0].servers: expected an integer in [1, 1000000], got -2");

  d = base();
  d["workload"]["qps"] = 0;
  CHECK(error_of(d) == "t.json: workload.qps: expected a number in (0, 1000000], got 0");

  d = base();
  d["placements"][0]["tp"] = 3;
  CHECK(error_of(d).find("t.json: placements[0].tp: tp=3 does not divide the 64 attention heads") == 0);

  d = base();
  d["placements"][0]["tp"] = 1;
  CHECK(error_of(d).find("placements[0].tp: Llama-3.1-70B (bf16) needs") != std::string::npos);

  d = base();
  d["placements"][0]["instances"] = 9;
  CHECK(error_of(d).find("t.json: placements[0].instances: pool \"h100\" (32 chips on 4 servers) cannot hold all "
                         "instances") == 0);

  d = base();
  d["workload"]["input"]["type"] = "zipf";
  CHECK(error_of(d).find("workload.input.type: unknown length distribution \"zipf\"") != std::string::npos);

  d = base();
  d["router"] = "smart";
  CHECK(error_of(d).find("router: unknown router \"smart\"; known:") != std::string::npos);

  d = base();
  d["placements"][1]["decode"]["tp"] = "four";
  CHECK(error_of(d).find("placements[1].decode.tp: expected an integer, got string") != std::string::npos);
}

TEST_CASE("malformed JSON files name the file")
{
  const std::string path = "/tmp/factorysim_bad_test.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"name\": ", f);
  std::fclose(f);
  try {
    load_scenario(path);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find(path + ": malformed JSON") == 0);
  }
}

TEST_CASE("--set overrides a value by path")
{
  Json d = base();
  const std::string path = "/tmp/factorysim_set_test.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(d.dump().c_str(), f);
  std::fclose(f);
  Scenario s = load_scenario(path, {"workload.qps=12.5", "placements[1].decode.instances=2", "router=round_robin"});
  CHECK(s.resolved["workload"]["qps"] == 12.5);
  CHECK(s.placements[1].stage("decode").instances == 2);
  CHECK(s.router == "round_robin");
  CHECK_THROWS_AS(load_scenario(path, {"workload.qps"}), InputError);
}

TEST_CASE("stages: any number, with hand-off edges checked at parse time")
{
  Json d = base();
  d["placements"] = Json::array();
  d["placements"].push_back(Json::parse(R"({"name": "three", "type": "stages", "stages": [
      {"name": "p", "role": "prefill", "pool": "h100", "instances": 2, "tp": 4, "to": ["d1", "d2"]},
      {"name": "d1", "role": "decode", "pool": "h100", "instances": 2, "tp": 4},
      {"name": "d2", "role": "decode", "pool": "h100", "instances": 2, "tp": 2, "pp": 2,
       "scheduler": {"max_num_seqs": 64}},
      {"name": "chat", "role": "mixed", "pool": "h100", "instances": 1, "tp": 4}]})"));
  Scenario s = parse_scenario(d, "t.json");
  REQUIRE(s.placements[0].stages.size() == 4);
  CHECK(s.placements[0].stage("d2").scheduler.max_num_seqs == 64);
  CHECK(s.placements[0].stage("d1").scheduler.max_num_seqs == 256);
  CHECK(s.resolved["placements"][0]["stages"][2]["scheduler"]["max_num_seqs"] == 64);

  auto with = [&](const char* stages) {
    Json e = base();
    e["placements"] =
        Json::array({Json::parse(std::string(R"({"name": "x", "type": "stages", "stages": )") + stages + "}")});
    return error_of(e);
  };
  CHECK(with(R"([{"name": "d", "role": "decode", "pool": "h100", "instances": 1, "tp": 4}])")
            .find("placements[0].stages[0].name: decode stage \"d\" is fed by no prefill stage") != std::string::npos);
  CHECK(with(R"([{"name": "p", "role": "prefill", "pool": "h100", "instances": 1, "tp": 4}])")
            .find("placements[0].stages[0].to: a prefill stage must name the decode stage") != std::string::npos);
  CHECK(with(R"([{"name": "p", "role": "prefill", "pool": "h100", "instances": 1, "tp": 4, "to": ["q"]}])")
            .find("placements[0].stages[0].to: unknown stage \"q\"") != std::string::npos);
  CHECK(with(R"([{"name": "a", "role": "mixed", "pool": "h100", "instances": 1, "tp": 4, "to": ["a"]}])")
            .find("a mixed stage hands nothing on") != std::string::npos);
  CHECK(with(R"([{"name": "a", "pool": "h100", "instances": 1, "tp": 4},
                 {"name": "a", "pool": "h100", "instances": 1, "tp": 4}])")
            .find("placements[0].stages[1].name: duplicate stage name \"a\"") != std::string::npos);
  CHECK(with(R"([{"name": "a/b", "pool": "h100", "instances": 1, "tp": 4}])").find("stages[0].name: expected") !=
        std::string::npos);
  CHECK(with(R"([{"name": "a", "pool": "h100", "instances": 1, "tp": 4, "pp": 3}])")
            .find("placements[0].stages[0].pp: an instance of 12 chips spans servers") != std::string::npos);
}

TEST_CASE("renamed and removed keys say what replaced them")
{
  Json d = base();
  d["pools"][0]["gpus_per_server"] = 8;
  CHECK(error_of(d) == "t.json: pools[0].gpus_per_server: renamed to \"chips_per_server\"");
  d = base();
  d["pools"][0]["chip_overrides"] = {{"hbm_capacity_gb", 80}};
  CHECK(error_of(d).find("pools[0].chip_overrides.hbm_capacity_gb: renamed to \"memory_capacity_mib\"") !=
        std::string::npos);
  d = base();
  d["economics"]["busy_power_fraction"] = 0.8;
  CHECK(error_of(d).find("economics.busy_power_fraction: removed") != std::string::npos);
  d = base();
  d["scheduler"]["activation_reserve_gb"] = 4;
  CHECK(error_of(d).find("scheduler.activation_reserve_gb: renamed to \"activation_reserve_gib\"") !=
        std::string::npos);
}

TEST_CASE("a chip's step-time model is checked when the catalog is read, not at run time")
{
  Json d = base();
  d["pools"][0]["chip_overrides"] = {{"step_time_model", "lpu"}};
  CHECK(error_of(d).find("t.json: pools[0].chip_overrides.step_time_model: unknown step-time model \"lpu\"; known: "
                         "roofline") == 0);
  d = base();
  d["pools"][0]["chip_overrides"] = {{"kind", "lpu"}}; // a kind is a label; the model decides the timing
  CHECK(error_of(d).empty());
}
