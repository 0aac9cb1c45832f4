// The graph of steps an agent task runs (workload "agents"): LLM calls and tool calls, each after the steps it
// names. Several steps after one fan out (sub-agents); one step after several joins them. Held as a Boost.Graph to
// sort it and to reject cycles.
#pragma once
#include "durations.hpp"
#include "workload.hpp"
#include <string>
#include <vector>

namespace fs {

struct AgentStep {
  std::string id;
  bool llm = true;
  std::shared_ptr<const LengthSampler> input;     // llm: the step's own new prompt tokens
  std::shared_ptr<const LengthSampler> output;    // llm: output tokens; tool: result tokens (null: none)
  std::shared_ptr<const DurationSampler> service; // tool: seconds of work on one CPU core
  std::vector<std::string> after;                 // as given
  // Resolved, as indices into AgentGraph::steps:
  std::vector<int> succs;
  std::vector<int> ancestors; // every step before it on some path, in the graph's order
  int preds = 0;
};

struct AgentGraph {
  std::vector<AgentStep> steps; // in a topological order (every step after those it waits for)
  Json to_json() const;         // the "steps" array, as given
  bool has_tools() const;
};

// Parses the "steps" array; a duplicate id, an `after` naming no step and a cycle are input errors naming the JSON
// path and the step.
AgentGraph parse_agent_graph(const JsonNode& steps, const std::string& scenario_file);
const ObjectSpec& agent_step_spec();

} // namespace fs
