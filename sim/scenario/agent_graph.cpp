#include "agent_graph.hpp"
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>
#include <map>

namespace fs {

namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// Records the depth-first tree and the first back edge: the back edge (u, v) closes the cycle v -> ... -> u -> v.
struct CycleFinder : boost::default_dfs_visitor {
  std::vector<Vertex>* parent;
  std::vector<Vertex>* cycle;
  void tree_edge(boost::graph_traits<Graph>::edge_descriptor e, const Graph& g) const
  {
    (*parent)[boost::target(e, g)] = boost::source(e, g);
  }
  void back_edge(boost::graph_traits<Graph>::edge_descriptor e, const Graph& g) const
  {
    if (!cycle->empty()) return;
    const Vertex u = boost::source(e, g), v = boost::target(e, g);
    for (Vertex w = u; w != v; w = (*parent)[w])
      cycle->push_back(w);
    cycle->push_back(v);
    std::reverse(cycle->begin(), cycle->end()); // v first, then along the edges to u
  }
};

} // namespace

const ObjectSpec& agent_step_spec()
{
  static const ObjectSpec o{
      "agent_step",
      "one step of an agent task: an LLM call or a tool call, after the steps it names",
      {required(text("id", "unique within the graph")),
       required(text("kind", "llm: a request to the accelerators; tool: work on a CPU core", {"llm", "tool"})),
       object("input", length_spec(), "llm: the step's own new prompt tokens (after the context it inherits)"),
       object("output", length_spec(), "llm: output tokens; tool: tokens its result adds to later steps' context"),
       object("service_s", duration_spec(), "tool: seconds of work on one CPU core"),
       array_of("after", FieldType::string, "ids of the steps it waits for (none: it starts with the task)")}};
  return o;
}

AgentGraph parse_agent_graph(const JsonNode& list, const std::string& file)
{
  list.expect_array();
  if (list.size() == 0) list.fail_here("expected at least one step");
  AgentGraph g;
  std::map<std::string, int> index;
  std::vector<JsonNode> nodes;
  for (size_t i = 0; i < list.size(); ++i) {
    JsonNode n = list[i];
    n.expect_object();
    AgentStep st;
    st.id = n.string("id");
    if (auto [it, fresh] = index.emplace(st.id, int(i)); !fresh)
      n.fail("id", "duplicate step id \"" + st.id + "\" (also steps[" + std::to_string(it->second) + "])");
    const std::string kind = n.string("kind");
    if (kind != "llm" && kind != "tool") n.fail("kind", "unknown kind \"" + kind + "\"; expected llm or tool");
    st.llm = kind == "llm";
    if (st.llm) {
      if (n.has("service_s")) n.fail("service_s", "applies to tool steps; step \"" + st.id + "\" is an llm step");
      st.input = parse_length(n.at("input"), file, true);
      st.output = parse_length(n.at("output"), file, false);
    } else {
      if (n.has("input")) n.fail("input", "applies to llm steps; step \"" + st.id + "\" is a tool step");
      st.service = parse_duration(n.at("service_s"));
      if (n.has("output")) st.output = parse_length(n.at("output"), file, false);
    }
    if (auto after = n.get("after"))
      for (size_t k = 0; k < after->size(); ++k) {
        if (!(*after)[k].raw().is_string()) (*after)[k].fail_here("expected a step id");
        const std::string a = (*after)[k].raw().get<std::string>();
        if (std::find(st.after.begin(), st.after.end(), a) != st.after.end())
          (*after)[k].fail_here("\"" + a + "\" is listed twice");
        st.after.push_back(a);
      }
    n.done();
    g.steps.push_back(std::move(st));
    nodes.push_back(n);
  }
  if (std::none_of(g.steps.begin(), g.steps.end(), [](const AgentStep& s) { return s.llm; }))
    list.fail_here("expected at least one llm step");

  Graph bg(g.steps.size());
  for (size_t i = 0; i < g.steps.size(); ++i)
    for (size_t k = 0; k < g.steps[i].after.size(); ++k) {
      auto it = index.find(g.steps[i].after[k]);
      if (it == index.end())
        nodes[i].fail("after[" + std::to_string(k) + "]", "step \"" + g.steps[i].id + "\" waits for \"" +
                                                              g.steps[i].after[k] + "\", which is no step's id");
      boost::add_edge(Vertex(it->second), Vertex(i), bg);
    }
  std::vector<Vertex> order; // reverse topological order
  try {
    boost::topological_sort(bg, std::back_inserter(order));
  } catch (const boost::not_a_dag&) {
    std::vector<Vertex> parent(g.steps.size()), cycle;
    boost::depth_first_search(bg, boost::visitor(CycleFinder{{}, &parent, &cycle}));
    std::string path;
    for (Vertex v : cycle)
      path += "\"" + g.steps[v].id + "\" -> ";
    nodes[cycle.front()].fail("after", "step \"" + g.steps[cycle.front()].id + "\" is on a cycle: " + path + "\"" +
                                           g.steps[cycle.front()].id + "\"");
  }
  std::reverse(order.begin(), order.end());
  std::vector<int> rank(g.steps.size());
  for (size_t r = 0; r < order.size(); ++r)
    rank[order[r]] = int(r);
  std::vector<AgentStep> sorted(g.steps.size());
  for (size_t i = 0; i < g.steps.size(); ++i)
    sorted[size_t(rank[i])] = std::move(g.steps[i]);
  g.steps = std::move(sorted);
  for (size_t r = 0; r < g.steps.size(); ++r) {
    AgentStep& st = g.steps[r];
    std::vector<bool> anc(g.steps.size(), false);
    for (const std::string& a : st.after) {
      const int p = rank[size_t(index.at(a))];
      anc[size_t(p)] = true;
      for (int q : g.steps[size_t(p)].ancestors)
        anc[size_t(q)] = true;
      g.steps[size_t(p)].succs.push_back(int(r));
      st.preds++;
    }
    for (size_t q = 0; q < anc.size(); ++q)
      if (anc[q]) st.ancestors.push_back(int(q));
  }
  return g;
}

bool AgentGraph::has_tools() const
{
  return std::any_of(steps.begin(), steps.end(), [](const AgentStep& s) { return !s.llm; });
}

Json AgentGraph::to_json() const
{
  Json out = Json::array();
  for (const AgentStep& s : steps) {
    Json j = {{"id", s.id}, {"kind", s.llm ? "llm" : "tool"}, {"after", s.after}};
    if (s.input) j["input"] = length_json(*s.input);
    if (s.output) j["output"] = length_json(*s.output);
    if (s.service) j["service_s"] = duration_json(*s.service);
    out.push_back(j);
  }
  return out;
}

} // namespace fs
