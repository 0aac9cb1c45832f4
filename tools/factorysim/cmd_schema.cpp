// `factorysim schema [scenario|chips|models|nics|cpus|servers|switches|storage]`: the JSON Schema of the input formats,
// made from the same tables the parser enforces (sim/scenario/schema.hpp).
#include "catalog.hpp"
#include "commands.hpp"
#include "schema.hpp"
#include <iostream>

namespace fs::cli {

int cmd_schema(const std::string& what)
{
  if (what == "scenario") {
    std::cout << json_schema(scenario_spec()).dump(2) << "\n";
    return 0;
  }
  const ObjectSpec file{what + "_file",
                        "a catalog file (scenarios/catalog/" + what + ".json)",
                        {required(object(what, catalog_spec(what), "entries by name"))}};
  std::cout << json_schema(file).dump(2) << "\n";
  return 0;
}

} // namespace fs::cli
