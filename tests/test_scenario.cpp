// Bad input: each error names the file, the JSON path and what was expected.
#include "catalog.hpp"
#include "scenario.hpp"
#include <doctest/doctest.h>

using namespace fs;

namespace {
Json base() { return Json::parse(embedded_file("default.json")); }

std::string error_of(const Json& doc)
{
  try {
    parse_scenario(doc, "t.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("the embedded default scenario parses and resolves")
{
  Scenario s = parse_scenario(base(), "default");
  CHECK(s.placements.size() == 2);
  CHECK(s.pools.at(0).gpus() == 32);
  CHECK(s.resolved["pools"][0]["chip"]["sources"].size() > 5);
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
  CHECK(error_of(d) == "t.json: pools[0].servers: expected an integer > 0, got -2");

  d = base();
  d["workload"]["qps"] = 0;
  CHECK(error_of(d).find("t.json: workload.qps: expected a number > 0") == 0);

  d = base();
  d["placements"][0]["tp"] = 3;
  CHECK(error_of(d).find("t.json: placements[0].tp: tp=3 does not divide the 64 attention heads") == 0);

  d = base();
  d["placements"][0]["tp"] = 1;
  CHECK(error_of(d).find("placements[0].tp: Llama-3.1-70B (bf16) needs") != std::string::npos);

  d = base();
  d["placements"][0]["instances"] = 9;
  CHECK(error_of(d).find("needs 36 GPUs of pool \"h100\", which has 32") != std::string::npos);

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
  CHECK(s.workload.qps == 12.5);
  CHECK(s.placements[1].groups[1].instances == 2);
  CHECK(s.router == "round_robin");
  CHECK_THROWS_AS(load_scenario(path, {"workload.qps"}), InputError);
}
