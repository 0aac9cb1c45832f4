#!/bin/sh
# The layers of docs/design.md, checked where the include path cannot: a library header that a lower layer must
# not use (nlohmann/json and SimGrid in the models, SimGrid in the scenario layer), or a relative include that
# reaches into another folder. Prints each offending line and exits 1.
set -u
cd "$(dirname "$0")/.."
bad=0
check() { # folder, forbidden pattern, why
  hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" "$1"/*.hpp "$1"/*.cpp 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "$hits" | sed "s|\$| ($3)|"
    bad=1
  fi
}
check models 'nlohmann|simgrid|CLI|Eigen|\.\.' "models/ is pure: no JSON, no SimGrid, nothing from other folders"
check sim/scenario 'simgrid|CLI|\.\.' "sim/scenario/ does not call SimGrid"
check sim/engine 'CLI|\.\.' "sim/engine/ does not reach the CLI"
[ $bad = 0 ] && echo "layers: models -> scenario -> engine -> CLI respected"
exit $bad
