// Simulation tests. SimGrid allows one engine per process, so each simulation runs in a forked child
// that writes its summary and per-request times to a file the parent reads.
#include "catalog.hpp"
#include "factory.hpp"
#include "step_time_roofline.hpp"
#include "summary.hpp"
#include "support.hpp"
#include <doctest/doctest.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace fs;

namespace {

struct Out {
  Json summary;
  std::vector<Request> requests;
};

Out simulate(const Json& doc, size_t placement = 0)
{
  Json j = test::run_in_child(doc, placement, [placement](const Scenario& s, const RunResult& r) {
    Json reqs = Json::array();
    for (const Request& q : r.requests)
      reqs.push_back({q.spec.arrival, q.first_token, q.finish, q.kv_bytes_transferred, q.dropped, q.spec.input_tokens,
                      q.spec.output_tokens, q.prefill_done, q.decode_admitted, q.preemptions});
    return Json{{"summary", make_summary(s, s.placements[placement], r)}, {"requests", reqs}};
  });
  Out o{j["summary"], {}};
  for (auto const& q : j["requests"]) {
    Request r;
    r.spec.arrival = q[0];
    r.first_token = q[1];
    r.finish = q[2];
    r.kv_bytes_transferred = q[3];
    r.dropped = q[4];
    r.spec.input_tokens = q[5];
    r.spec.output_tokens = q[6];
    r.prefill_done = q[7];
    r.decode_admitted = q[8];
    r.preemptions = q[9];
    o.requests.push_back(r);
  }
  return o;
}

Json small(double qps, long n)
{
  return {{"name", "t"},
          {"seed", 7},
          {"model", "Llama-3.1-8B"},
          {"pools", {{{"name", "h100"}, {"server", "HGX-H100-8"}, {"servers", 2}}}},
          {"fabric", {{"servers_per_rack", 1}}},
          {"placements",
           {{{"name", "co"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 4}, {"tp", 2}},
            {{"name", "dis"},
             {"type", "disaggregated"},
             {"prefill", {{"pool", "h100"}, {"instances", 1}, {"tp", 8}}},
             {"decode", {{"pool", "h100"}, {"instances", 1}, {"tp", 8}}}}}},
          {"workload",
           {{"type", "poisson"},
            {"qps", qps},
            {"num_requests", n},
            {"input", {{"type", "lognormal"}, {"mean", 1155}, {"median", 1020}, {"max", 8000}}},
            {"output", {{"type", "lognormal"}, {"mean", 211}, {"median", 129}, {"max", 1000}}}}},
          {"slo", {{"ttft_s", 1.0}, {"tpot_s", 0.05}}}};
}

Json single_request(long input, long output)
{
  Json d = small(1, 1);
  d["workload"]["input"] = {{"type", "fixed"}, {"value", input}};
  d["workload"]["output"] = {{"type", "fixed"}, {"value", output}};
  d["sim"] = {{"warmup_s", 0}};
  return d;
}

} // namespace

TEST_CASE("conservation and determinism")
{
  for (size_t p : {0, 1}) {
    Out a = simulate(small(20, 400), p), b = simulate(small(20, 400), p);
    CHECK(a.summary["requests"]["arrived"] == 400);
    CHECK(a.summary["requests"]["completed"].get<long>() + a.summary["requests"]["dropped"].get<long>() == 400);
    a.summary["sim"].erase("wall_s");
    b.summary["sim"].erase("wall_s");
    CHECK(a.summary == b.summary);
    CHECK(a.summary["throughput"]["output_tokens_per_s"].get<double>() > 0);
  }
}

TEST_CASE("closed-form decode runs match the step-by-step engine")
{
  for (size_t p : {0, 1, 2, 3}) {
    Json d = small(25, 300);
    // A pipelined instance and a three-stage placement (two decode stages, one pipelined) besides the
    // colocated and disaggregated ones.
    d["placements"].push_back(
        {{"name", "pp"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 2}, {"tp", 2}, {"pp", 2}});
    d["placements"].push_back(Json::parse(R"({"name": "three", "type": "stages", "stages": [
        {"name": "p", "role": "prefill", "pool": "h100", "instances": 2, "tp": 2, "to": ["d", "e"]},
        {"name": "d", "role": "decode", "pool": "h100", "instances": 2, "tp": 2},
        {"name": "e", "role": "decode", "pool": "h100", "instances": 2, "tp": 1, "pp": 2}]})"));
    Out fast = simulate(d, p);
    d["sim"] = {{"mode", "exact"}};
    Out exact = simulate(d, p);
    if (p == 0) { // a router that reads free KV blocks, which a closed-form run must report as the exact engine
      d["router"] = "kv_aware";
      d["scheduler"] = {{"gpu_memory_utilization", 0.155}}; // KV-bound: free blocks differ between instances
      d["sim"] = {{"mode", "fast"}};
      fast = simulate(d, p);
      d["sim"] = {{"mode", "exact"}};
      exact = simulate(d, p);
    }
    REQUIRE(fast.requests.size() == exact.requests.size());
    double worst = 0;
    for (size_t i = 0; i < fast.requests.size(); ++i) {
      worst = std::max(worst, std::abs(fast.requests[i].first_token - exact.requests[i].first_token) /
                                  exact.requests[i].first_token);
      worst = std::max(worst, std::abs(fast.requests[i].finish - exact.requests[i].finish) / exact.requests[i].finish);
    }
    CHECK(worst < 1e-6);
    if (p != 2) // pipelined instances step one micro-batch at a time in both modes
      CHECK(fast.summary["sim"]["events"].get<long>() < exact.summary["sim"]["events"].get<long>());
  }
}

TEST_CASE("a single request on an idle system: TTFT = prefill step (+ KV transfer)")
{
  const Catalog cat = load_catalog();
  Out co = simulate(single_request(2048, 8), 0);
  const Request& r = co.requests.at(0);
  StepBatch b;
  b.prefill.push_back({2048, 0});
  b.logits_tokens = 1;
  RooflineStepTime tp2({cat.models.at("Llama-3.1-8B"), cat.chips.at("H100"), {2, 1}, {}, {}, {}});
  CHECK(r.first_token - r.spec.arrival == doctest::Approx(tp2.step(b).total_s).epsilon(1e-9));

  Out dis = simulate(single_request(2048, 8), 1);
  const Request& q = dis.requests.at(0);
  RooflineStepTime tp8({cat.models.at("Llama-3.1-8B"), cat.chips.at("H100"), {8, 1}, {}, {}, {}});
  const double bytes = 2048 * kv_bytes_per_token(cat.models.at("Llama-3.1-8B"), Dtype::bf16);
  CHECK(q.kv_bytes_transferred == bytes);
  // Two servers in two racks: NIC up, rack uplink up and down, NIC down (CM02: latencies + size / bottleneck).
  const ServerSpec& sv = cat.servers.at("HGX-H100-8");
  const double lat = 2 * (sv.nic.latency_s + 1e-6) + 2 * 1e-6;
  const double transfer = lat + bytes / sv.nic_bandwidth();
  CHECK(q.first_token - q.spec.arrival == doctest::Approx(tp8.step(b).total_s + transfer).epsilon(1e-6));
}

TEST_CASE("a KV pull runs as wide as the smaller instance's share of the NICs")
{
  // Eight TP1 prefill instances fill server 0, eight TP1 decode instances server 1: a pull crosses one NIC's
  // 400 Gb/s, not the server's eight.
  Json d = single_request(2048, 8);
  d["placements"][1]["prefill"] = {{"pool", "h100"}, {"instances", 8}, {"tp", 1}};
  d["placements"][1]["decode"] = {{"pool", "h100"}, {"instances", 8}, {"tp", 1}};
  Out o = simulate(d, 1);
  const Catalog cat = load_catalog();
  StepBatch b;
  b.prefill.push_back({2048, 0});
  b.logits_tokens = 1;
  RooflineStepTime tp1({cat.models.at("Llama-3.1-8B"), cat.chips.at("H100"), {1, 1}, {}, {}, {}});
  const ServerSpec& sv = cat.servers.at("HGX-H100-8");
  const double bytes = 2048 * kv_bytes_per_token(cat.models.at("Llama-3.1-8B"), Dtype::bf16);
  const double transfer = 2 * (sv.nic.latency_s + 1e-6) + 2 * 1e-6 + bytes / sv.nic_bandwidth_per_chip();
  CHECK(o.requests[0].first_token - o.requests[0].spec.arrival ==
        doctest::Approx(tp1.step(b).total_s + transfer).epsilon(1e-6));
}

TEST_CASE("doubling NIC bandwidth shortens the KV transfer")
{
  Json d = single_request(8000, 4);
  Out slow = simulate(d, 1);
  d["pools"][0]["nic_bandwidth_gbps"] = 800;
  Out fast = simulate(d, 1);
  const double t_slow = slow.requests[0].first_token, t_fast = fast.requests[0].first_token;
  CHECK(t_fast < t_slow);
  const double bytes = slow.requests[0].kv_bytes_transferred;
  const double saved = bytes / (8 * 400e9 / 8) - bytes / (8 * 800e9 / 8);
  CHECK(t_slow - t_fast == doctest::Approx(saved).epsilon(1e-6));
}

TEST_CASE("overload grows TTFT")
{
  Out light = simulate(small(5, 300), 0), heavy = simulate(small(400, 2000), 0);
  CHECK(heavy.summary["latency_s"]["ttft"]["p99"].get<double>() >
        5 * light.summary["latency_s"]["ttft"]["p99"].get<double>());
}

TEST_CASE("requests that cannot fit are dropped with a reason, never lost")
{
  Json d = small(5, 50);
  d["workload"]["input"] = {{"type", "uniform"}, {"min", 100}, {"max", 200000}};
  Out o = simulate(d, 0);
  const long dropped = o.summary["requests"]["dropped"];
  CHECK(dropped > 0);
  CHECK(o.summary["requests"]["completed"].get<long>() + dropped == 50);
  CHECK(o.summary["requests"]["drop_reasons"].begin().key().find("exceed the model's max context") !=
        std::string::npos);
}

namespace {
Json pp_scenario(int pp)
{
  Json d = small(50, 600);
  d["model"] = "Llama-3.1-70B";
  d["pools"][0]["servers"] = 1;
  d["placements"] =
      Json::array({{{"name", "p"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 1}, {"tp", 4}, {"pp", pp}}});
  d["workload"]["input"] = {{"type", "fixed"}, {"value", 1024}};
  d["workload"]["output"] = {{"type", "fixed"}, {"value", 256}};
  d["sim"] = {{"warmup_s", 5}};
  return d;
}
} // namespace

TEST_CASE("finding 1: pipeline parallelism pipelines (TP4 x PP2 on 8 chips vs TP4 on 4, saturated)")
{
  Out pp1 = simulate(pp_scenario(1)), pp2 = simulate(pp_scenario(2));
  const double r = pp2.summary["throughput"]["output_tokens_per_s"].get<double>() /
                   pp1.summary["throughput"]["output_tokens_per_s"].get<double>();
  CHECK(r > 1.6); // the first engine ran one batch at a time through both stages: 1.00x
  CHECK(r < 2.05);
  const Json& st = pp2.summary["stages"][0];
  CHECK(st["pp"] == 2);
  CHECK(st["step_breakdown"]["pipeline_hop_s"].get<double>() > 0);
  // Each stage holds half the layers, so a micro-batch's latency is about one unpipelined step: TPOT close.
  CHECK(pp2.summary["latency_s"]["tpot"]["p50"].get<double>() <
        1.2 * pp1.summary["latency_s"]["tpot"]["p50"].get<double>());
}

TEST_CASE("finding 4: P/D decode-side admission puts the wait for a decode slot in TTFT, not TPOT")
{
  // One prefill and one decode instance with a single decode slot; two identical requests at t = 0.
  const std::string trace = "/tmp/factorysim_two_" + std::to_string(getpid()) + ".csv";
  std::ofstream(trace) << "TIMESTAMP,ContextTokens,GeneratedTokens\n0,1024,129\n0,1024,129\n1,16,2\n";
  Json d = small(1, 1);
  d["scheduler"] = {{"max_num_seqs", 1}};
  d["workload"] = {{"type", "trace"}, {"path", trace}};
  d["sim"] = {{"warmup_s", 0}};
  Out o = simulate(d, 1);
  std::remove(trace.c_str());
  std::vector<Request> rs;
  for (const Request& r : o.requests)
    if (r.spec.input_tokens == 1024) rs.push_back(r);
  REQUIRE(rs.size() == 2);
  std::sort(rs.begin(), rs.end(), [](const Request& a, const Request& b) { return a.first_token < b.first_token; });
  const Request &a = rs[0], &b = rs[1];
  CHECK(b.first_token >= a.finish - 1e-9); // the first engine streamed it 93 ms in, 1.8 s before a finished
  CHECK(b.decode_admitted >= a.finish - 1e-9);
  CHECK(b.decode_wait_s() > 0.5 * (a.finish - a.first_token));
  CHECK(a.decode_wait_s() == doctest::Approx(0).epsilon(1e-9));
  auto tpot = [](const Request& r) { return (r.finish - r.first_token) / double(r.spec.output_tokens - 1); };
  CHECK(tpot(b) == doctest::Approx(tpot(a)).epsilon(0.02)); // the first engine doubled it
  CHECK(o.summary["latency_s"]["decode_wait"]["n"] == 3);
}

namespace {
// 70B KV (320 KB a token) pulled from 4 prefill to 4 decode instances across racks with 4:1 uplinks: pulls overlap
// on NICs and uplinks (placement 1; placement 0 serves the same load colocated).
Json contended_pulls()
{
  Json d = small(60, 500);
  d["model"] = "Llama-3.1-70B";
  d["pools"][0]["servers"] = 4;
  d["fabric"] = {{"servers_per_rack", 2}, {"oversubscription", 4}};
  d["placements"][1]["prefill"] = {{"pool", "h100"}, {"instances", 4}, {"tp", 4}};
  d["placements"][1]["decode"] = {{"pool", "h100"}, {"instances", 4}, {"tp", 4}};
  return d;
}
} // namespace

TEST_CASE("lone KV pulls end where SimGrid's network model ends them")
{
  // Pulls overlap on NICs and uplinks (contended_pulls). A pull alone on its route runs as a timed event and moves
  // into SimGrid with the bytes it has left when another needs one of its links; every request's times must be
  // those of a run whose every pull is a SimGrid action, to rounding.
  auto run = [](const Json& d, bool lone) {
    return test::run_in_child(
        d, 1,
        [](const Scenario&, const RunResult& r) {
          Json out = {{"lone", r.kv_pulls_lone}, {"shared", r.kv_pulls_shared}, {"t", Json::array()}};
          for (const Request& q : r.requests)
            out["t"].push_back({q.decode_admitted, q.first_token, q.finish, q.kv_bytes_transferred});
          return out;
        },
        [lone](Scenario& s) { s.sim.lone_transfers = lone; });
  };
  const Json d = contended_pulls();
  const Json a = run(d, true), b = run(d, false);
  MESSAGE("pulls alone on their route: " << a["lone"] << ", in SimGrid: " << a["shared"]
                                         << " (all in SimGrid: " << b["shared"] << ")");
  CHECK(b["lone"] == 0);
  CHECK(a["lone"].get<long>() > 100);
  CHECK(a["shared"].get<long>() > 100);
  CHECK(a["lone"].get<long>() + a["shared"].get<long>() == b["shared"].get<long>());
  REQUIRE(a["t"].size() == b["t"].size());
  double worst = 0;
  for (size_t i = 0; i < a["t"].size(); ++i)
    for (size_t k = 0; k < 4; ++k)
      worst = std::max(worst, std::abs(a["t"][i][k].get<double>() - b["t"][i][k].get<double>()));
  MESSAGE("largest difference in a request's times: " << worst << " s");
  CHECK(worst < 1e-9);
}

TEST_CASE("events run ahead of SimGrid's clock give the same times")
{
  // The contended P/D workload of the test above (pulls in SimGrid's network model now and then: running ahead only
  // up to their next event there, and a pull that needs SimGrid while ahead waits for its clock), and its colocated
  // twin (no SimGrid activity at all): every request's times with the queue running ahead are those of a run that gives
  // every instant its own round of SimGrid's main loop (to rounding).
  auto run = [](const Json& d, size_t placement, bool ahead) {
    return test::run_in_child(
        d, placement,
        [](const Scenario&, const RunResult& r) {
          Json out = {{"ahead", r.instants_ahead},
                      {"waits", r.simgrid_waits},
                      {"of_pulls", r.instants_ahead_of_pulls},
                      {"shared", r.kv_pulls_shared},
                      {"t", Json::array()}};
          for (const Request& q : r.requests)
            out["t"].push_back({q.decode_admitted, q.first_token, q.finish, q.kv_bytes_transferred, q.prefill_done});
          return out;
        },
        [ahead](Scenario& s) { s.sim.run_ahead = ahead; });
  };
  const Json d = contended_pulls();
  for (size_t placement : {0, 1}) {
    const Json a = run(d, placement, true), b = run(d, placement, false);
    MESSAGE("placement " << placement << ": instants run ahead " << a["ahead"] << " (" << a["of_pulls"]
                         << " with pulls in SimGrid), pulls in SimGrid " << a["shared"] << ", of which " << a["waits"]
                         << " waited for SimGrid's clock");
    CHECK(b["ahead"] == 0);
    CHECK(a["ahead"].get<long>() > 500);
    CHECK(a["shared"] == b["shared"]);
    CHECK(b["of_pulls"] == 0);
    if (placement == 1) {
      CHECK(a["waits"].get<long>() > 20);
      CHECK(a["of_pulls"].get<long>() > 20); // ahead of pulls in SimGrid, and still the same times
    }
    // Identical here; in general equal to SimGrid's rounding of its clock (a jump to a timer may land an ulp off).
    REQUIRE(a["t"].size() == b["t"].size());
    double worst = 0;
    for (size_t i = 0; i < a["t"].size(); ++i)
      for (size_t k = 0; k < a["t"][i].size(); ++k)
        worst = std::max(worst, std::abs(a["t"][i][k].get<double>() - b["t"][i][k].get<double>()));
    MESSAGE("largest difference in a request's times: " << worst << " s");
    CHECK(worst < 1e-9);
  }
}

TEST_CASE("least-outstanding picks from cached loads are the picks of a full scan")
{
  // Many instances, loaded so that fast runs are cut, and a closed loop whose requests arrive the moment another
  // finishes (while the instance that finished it is still working): every request lands where reading every
  // member's view put it.
  auto picks = [](Json d, size_t placement, bool cached) {
    Json j = test::run_in_child(
        d, placement,
        [](const Scenario&, const RunResult& r) {
          Json out = Json::array();
          for (const Request& q : r.requests)
            out.push_back({q.instances, q.finish});
          return out;
        },
        [cached](Scenario& s) { s.sim.index_routers = cached; });
    return j;
  };
  Json d = small(60, 600);
  d["pools"][0]["servers"] = 4;
  d["placements"][0]["instances"] = 12;
  d["placements"][1]["prefill"]["instances"] = 2;
  d["placements"][1]["decode"] = {{"pool", "h100"}, {"instances", 8}, {"tp", 2}};
  for (const char* router : {"least_outstanding", "round_robin", "random"}) {
    d["router"] = router;
    for (size_t p : {0, 1}) {
      CAPTURE(router);
      CAPTURE(p);
      CHECK(picks(d, p, true) == picks(d, p, false));
    }
  }
  Json c = d;
  c["router"] = "least_outstanding";
  c["workload"] = {{"type", "closed_loop"},
                   {"clients", 24},
                   {"num_requests", 400},
                   {"input", {{"type", "lognormal"}, {"mean", 1155}, {"median", 1020}, {"max", 8000}}},
                   {"output", {{"type", "lognormal"}, {"mean", 211}, {"median", 129}, {"max", 1000}}}};
  CHECK(picks(c, 0, true) == picks(c, 0, false));
}
