// `factorysim validate` on a few fast published cases (scenarios/validation/, docs/validation.md): the table, the
// error each row reports against the summary the case's run wrote, the median, and how failures and the
// not-yet-available capacity command show.
#include "json_input.hpp"
#include <cmath>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace stdfs = std::filesystem;
using fs::Json;

namespace {

std::string read_text(const stdfs::path& p)
{
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Run {
  int code = -1;
  std::string out, err;
};

Run validate(const std::string& args, const stdfs::path& scratch)
{
  const stdfs::path o = scratch / ".out", e = scratch / ".err";
  const std::string cmd = std::string(FACTORYSIM_BIN) + " validate " + args + " >" + o.string() + " 2>" + e.string();
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128, read_text(o), read_text(e)};
}

// One CSV line into fields ("" quoting as the command writes it).
std::vector<std::string> csv_fields(const std::string& line)
{
  std::vector<std::string> f(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      f.back() += '"', ++i;
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      f.emplace_back();
    else
      f.back() += c;
  }
  return f;
}

// validation.csv as rows of column name -> value.
std::vector<std::map<std::string, std::string>> read_csv(const stdfs::path& p)
{
  std::istringstream in(read_text(p));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> head = csv_fields(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = csv_fields(line);
    REQUIRE(f.size() == head.size());
    std::map<std::string, std::string> r;
    for (size_t k = 0; k < f.size(); ++k)
      r[head[k]] = f[k];
    rows.push_back(r);
  }
  return rows;
}

struct Scratch {
  stdfs::path dir = stdfs::temp_directory_path() / ("factorysim_validate_" + std::to_string(getpid()));
  Scratch() { stdfs::create_directories(dir); }
  ~Scratch() { stdfs::remove_all(dir); }
};

// The number at a dotted path of a JSON document.
double at_path(const Json& j, const std::string& path)
{
  const Json* x = &j;
  std::istringstream ss(path);
  for (std::string k; std::getline(ss, k, '.');)
    x = &x->at(k);
  return x->get<double>();
}

} // namespace

TEST_CASE("validate: published vs simulated for a fixed batch and a single user, with the median error")
{
  Scratch t;
  const std::vector<std::string> cases = {"vllm_ci_8b_h200_tp1_bs8", "nim_70b_h100_c1_5000_500_ttft"};
  const Run r = validate("--case " + cases[0] + " --case " + cases[1] + " -j 2 -o " + (t.dir / "v").string(), t.dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  for (const char* col : {"case", "chip", "model", "style", "published", "simulated", "error %"})
    CHECK(r.out.find(col) != std::string::npos);
  CHECK(r.out.find("median |error|") != std::string::npos);
  CHECK(r.out.find("2 of 2 cases compared") != std::string::npos);

  const auto rows = read_csv(t.dir / "v" / "validation.csv");
  REQUIRE(rows.size() == 2);
  std::vector<double> abs_errors;
  for (const auto& row : rows) {
    INFO(row.at("case"));
    CHECK(row.at("status") == "ok");
    // The simulated figure is the summary's number at the case's metric path, in the published unit.
    const Json rec = fs::read_json_file("scenarios/validation/" + row.at("case") + ".case.json");
    const double scale = rec["metric"].value("scale", 1.0);
    stdfs::path summary;
    for (const auto& e : stdfs::directory_iterator(t.dir / "v" / "runs" / row.at("case")))
      if (stdfs::exists(e.path() / "summary.json")) summary = e.path() / "summary.json";
    REQUIRE(!summary.empty());
    const double sim = at_path(fs::read_json_file(summary.string()), rec["metric"]["path"]) * scale;
    const double pub = std::stod(row.at("published"));
    CHECK(pub == doctest::Approx(rec["published"]["value"].get<double>()));
    CHECK(std::stod(row.at("simulated")) == doctest::Approx(sim).epsilon(1e-6));
    const double err = std::stod(row.at("error_percent"));
    CHECK(err == doctest::Approx((sim - pub) / pub * 100).epsilon(1e-6));
    abs_errors.push_back(std::fabs(err));
  }
  // Two cases: the median is the mean of both absolute errors.
  std::ostringstream median;
  median.precision(1);
  median << std::fixed << (abs_errors[0] + abs_errors[1]) / 2;
  CHECK(r.out.find("median |error| " + median.str() + "%") != std::string::npos);
  CHECK(read_text(t.dir / "v" / "validation.md").find("| case |") != std::string::npos);
}

TEST_CASE("validate: a run that fails makes the command fail; capacity cases skip until the command exists")
{
  Scratch t;
  const stdfs::path dir = t.dir / "cases";
  stdfs::create_directories(dir);
  stdfs::copy_file("scenarios/validation/vllm_ci_8b_h200_tp1_bs8.json", dir / "s.json");
  Json bad = fs::read_json_file("scenarios/validation/vllm_ci_8b_h200_tp1_bs8.case.json");
  bad["scenario"] = "s.json";
  bad["set"] = Json::array({"workload.num_requests=0"}); // the child run rejects it
  std::ofstream(dir / "bad.case.json") << bad.dump(2);
  Json cap = bad;
  cap.erase("set");
  cap["command"] = "capacity";
  cap["style"] = "server_capacity";
  std::ofstream(dir / "cap.case.json") << cap.dump(2);

  const Run r = validate(dir.string() + " -o " + (t.dir / "v").string(), t.dir);
  CHECK(r.code == 1);
  CHECK(r.err.find("1 case(s) failed") != std::string::npos);
  const auto rows = read_csv(t.dir / "v" / "validation.csv");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].at("case") == "bad"); // sorted by name
  CHECK(rows[0].at("status") == "failed");
  CHECK(rows[0].at("detail").find("exit 2") != std::string::npos);
  CHECK(rows[1].at("case") == "cap");
  // --help exits 0 either way: the command exists when its own usage line is printed.
  const bool has_capacity =
      std::system((std::string(FACTORYSIM_BIN) + " capacity --help 2>&1 | grep -q 'factorysim capacity'").c_str()) == 0;
  if (has_capacity)
    CHECK(rows[1].at("status") != "skipped");
  else
    CHECK(rows[1].at("detail") == "needs capacity command");
}

TEST_CASE("validate: bad arguments are input errors")
{
  Scratch t;
  Run r = validate((t.dir / "nowhere").string(), t.dir);
  CHECK(r.code == 2);
  CHECK(r.err.find("no validation folder") != std::string::npos);
  r = validate("--case no_such_case", t.dir);
  CHECK(r.code == 2);
  CHECK(r.err.find("known: ") != std::string::npos);
  std::ofstream(t.dir / "x.case.json") << R"({"scenario": "missing.json"})";
  r = validate(t.dir.string(), t.dir);
  CHECK(r.code == 2);
  CHECK(r.err.find("x.case.json") != std::string::npos);
  CHECK(r.err.find("scenario") != std::string::npos);
}
