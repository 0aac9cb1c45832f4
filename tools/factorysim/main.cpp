#include "commands.hpp"
#include "json_input.hpp"
#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv)
{
  CLI::App app{"factorysim: discrete-event simulator of an LLM-inference AI factory"};
  app.require_subcommand(1);
  fs::cli::RunArgs run;
  auto* r = app.add_subcommand("run", "simulate a scenario (the built-in default study when none is given)");
  r->add_option("scenario", run.scenario, "scenario JSON file");
  r->add_option("-o,--out", run.out_dir, "write summary.json, requests.csv and resolved_scenario.json here");
  r->add_option("--set", run.sets, "override a scenario value: path=value (e.g. workload.qps=20)");
  r->add_option("--placement", run.placements, "run only the named placement(s)");
  r->add_option("--mode", run.mode, "fast (closed-form decode runs) or exact (one wake-up per step)")
      ->check(CLI::IsMember({"fast", "exact"}));
  r->add_option("-j,--jobs", run.jobs, "placements simulated at once (one process each)")->check(CLI::Range(1, 1024));
  r->add_flag("--strict", run.strict, "exit with code 3 when a placement misses its SLOs or is unstable");
  r->add_option("--trace", run.trace,
                "write a Chrome/Perfetto trace (JSON) of the run: one process per placement, a track per instance");
  r->add_option("--trace-events", run.trace_events,
                "keep at most this many trace events per placement (default 200000)")
      ->check(CLI::Range(1L, 100000000L));
  r->add_option("--request-rows", run.request_rows,
                "requests.csv: all (default), none, or N: every N-th request (ids 0, N, 2N, ...), for long runs");
  fs::cli::CapacityArgs cap;
  auto* c = app.add_subcommand("capacity", "find each placement's capacity: the highest load it serves within the SLOs "
                                           "(bracket, then bisect; one simulation per probe)");
  c->add_option("scenario", cap.scenario, "scenario JSON file")->required();
  c->add_option("--set", cap.sets, "override a scenario value: path=value");
  c->add_option("--placement", cap.placements, "search only the named placement(s)");
  c->add_option("--slo", cap.slo,
                "SLOs to meet instead of the scenario's slo, e.g. ttft_p99=2,tpot_p99=0.05 (seconds; "
                "99% of requests under each is a p99 under it)");
  c->add_option("--goodput", cap.goodput, "share of arrivals that must meet every SLO (default 0.99)");
  c->add_option("--tolerance", cap.tolerance,
                "stop bisecting when the bracket is this narrow, relative (default 0.02)");
  c->add_option("-j,--jobs", cap.jobs, "simulations at once (one process each)")->check(CLI::Range(1, 1024));
  c->add_option("-o,--out", cap.out_dir, "write capacity.json and each placement's run at capacity here");
  app.add_subcommand("list", "print the catalogs and every registered model variant");
  std::string describe_name;
  auto* desc = app.add_subcommand("describe", "print every field of one catalog entry (chip, NIC, CPU, server, "
                                              "switch, model) with its unit and source");
  desc->add_option("name", describe_name, "catalog name, e.g. H100 (factorysim list shows them)")->required();
  fs::cli::TopologyArgs topo;
  auto* tp = app.add_subcommand("topology", "write the factory's network as a Graphviz graph and print its summary");
  tp->add_option("scenario", topo.scenario, "scenario JSON file (default: the built-in default study)");
  tp->add_option("-o,--out", topo.out, "Graphviz file to write (and .svg beside it when `dot` is installed)");
  tp->add_option("--set", topo.sets, "override a scenario value: path=value");
  std::string schema_of = "scenario";
  auto* sch = app.add_subcommand("schema", "print the JSON Schema of the scenario format (or of a catalog file)");
  sch->add_option("what", schema_of,
                  "scenario (default), or a catalog file: chips, models, nics, cpus, servers, switches, storage")
      ->check(CLI::IsMember({"scenario", "chips", "models", "nics", "cpus", "servers", "switches", "storage"}));
  auto* cal = app.add_subcommand("calibrate", "measured-efficiency calibration");
  cal->require_subcommand(1);
  fs::cli::FitArgs fit;
  auto* f = cal->add_subcommand("fit", "fit efficiency curves to raw kernel measurements");
  f->add_option("raw_dir", fit.raw_dir, "directory of *.jsonl from kernels_cuda/run_all.sh")->required();
  f->add_option("-o,--out", fit.out, "fitted.json to write")->required();
  f->add_option("--chip", fit.chip, "catalog chip whose datasheet peaks are the denominators (default: from the data)");
  auto* wl = app.add_subcommand("workload", "request workloads");
  wl->require_subcommand(1);
  fs::cli::WorkloadFitArgs wfit;
  auto* wf = wl->add_subcommand("fit", "fit a runnable workload (length distributions, arrival process, rate "
                                       "curve) to a trace and report the fit");
  wf->add_option("trace", wfit.trace, "Azure CSV or Mooncake JSONL trace")->required();
  wf->add_option("-o,--out", wfit.out, "JSON file to write: {\"workload\": a scenario's workload, \"fit\": the report}")
      ->required();
  wf->add_option("--format", wfit.format, "the trace's format (default: detected from its first character)")
      ->check(CLI::IsMember({"azure_csv", "mooncake_jsonl"}));
  wf->add_option("--hash-block-tokens", wfit.hash_block_tokens, "prompt tokens per Mooncake hash id (default 512)")
      ->check(CLI::Range(1, 1000000));
  fs::cli::SweepArgs sweep;
  auto* sw =
      app.add_subcommand("sweep", "run a grid of scenarios (a sweep file: a base scenario and axes), one process "
                                  "per point, resumable; over MPI ranks under mpirun");
  sw->add_option("sweep", sweep.file, "sweep JSON file")->required();
  sw->add_option("-o,--out", sweep.out, "results folder (points/, results.csv, results.json)")->required();
  sw->add_option("-j,--jobs", sweep.jobs, "points simulated at once (default: the cores)")->check(CLI::Range(1, 1024));
  sw->add_option("--set", sweep.sets, "override a value of every point's scenario: path=value");
  sw->add_option("--request-rows", sweep.request_rows,
                 "each point's requests.csv: all (default), none, or N: every N-th request (as run --request-rows)");
  sw->add_option("--target-qps", sweep.target_qps,
                 "rank the configurations serving this many requests/s within their SLOs by $/M output tokens")
      ->check(CLI::PositiveNumber);
  sw->add_option("--timeout", sweep.timeout_s, "seconds a point may run before it is stopped and recorded failed")
      ->check(CLI::PositiveNumber);
  std::string report_dir;
  auto* rep = app.add_subcommand("report", "write report.md and report.html (rankings, Pareto fronts, cost "
                                           "breakdown; plots by gnuplot) for a sweep's results folder");
  rep->add_option("dir", report_dir, "the -o folder of a sweep")->required();
  fs::cli::ValidateArgs val;
  auto* v = app.add_subcommand("validate", "run the published cases of scenarios/validation/ and print how far the "
                                           "simulated numbers are from the published ones");
  v->add_option("dir", val.dir, "folder of *.case.json records (default: scenarios/validation)");
  v->add_option("-o,--out", val.out_dir, "write validation.csv, validation.md and every case's run here");
  v->add_option("--case", val.cases, "run only the named case(s)");
  v->add_option("-j,--jobs", val.jobs, "cases simulated at once (one process each)")->check(CLI::Range(1, 1024));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (r->parsed()) return fs::cli::cmd_run(run);
    if (c->parsed()) return fs::cli::cmd_capacity(cap);
    if (app.got_subcommand("list")) return fs::cli::cmd_list();
    if (desc->parsed()) return fs::cli::cmd_describe(describe_name);
    if (tp->parsed()) return fs::cli::cmd_topology(topo);
    if (sch->parsed()) return fs::cli::cmd_schema(schema_of);
    if (f->parsed()) return fs::cli::cmd_calibrate_fit(fit);
    if (wf->parsed()) return fs::cli::cmd_workload_fit(wfit);
    if (sw->parsed()) return fs::cli::cmd_sweep(sweep);
    if (rep->parsed()) return fs::cli::cmd_report(report_dir);
    if (v->parsed()) return fs::cli::cmd_validate(val);
  } catch (const fs::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
