#!/usr/bin/env python3
"""Validates every example scenario, the catalog files, a resolved scenario and workloads fitted to the shipped traces
against `factorysim schema`
with an independent JSON Schema validator (Debian's python3-jsonschema): the schema the CLI prints must accept
what the parser accepts. usage: check_schema.py FACTORYSIM_BINARY"""
import glob, json, os, subprocess, sys, tempfile

import jsonschema

fs = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def schema(what):
    s = json.loads(subprocess.run([fs, "schema", what], check=True, capture_output=True, text=True).stdout)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


bad = 0
checked = 0
scen = schema("scenario")
with tempfile.TemporaryDirectory() as t:
    subprocess.run([fs, "run", os.path.join(root, "scenarios", "azure_conv_trace_8b.json"), "-o", t,
                    "--set", "workload.duration_s=60", "--set", "sim.warmup_s=5"], check=True, capture_output=True)
    files = sorted(glob.glob(os.path.join(root, "scenarios", "*.json"))) + [os.path.join(t, "resolved_scenario.json")]
    # Workloads fitted to the shipped traces, in the default scenario.
    for trace in sorted(glob.glob(os.path.join(root, "scenarios", "traces", "*"))):
        if not trace.endswith((".csv", ".jsonl")):
            continue
        fitted = os.path.join(t, os.path.basename(trace) + ".fit.json")
        subprocess.run([fs, "workload", "fit", trace, "-o", fitted], check=True, capture_output=True)
        d = json.load(open(os.path.join(root, "scenarios", "default.json")))
        d["workload"] = json.load(open(fitted))["workload"]
        json.dump(d, open(fitted, "w"))
        files.append(fitted)
    for f in files:
        for e in scen.iter_errors(json.load(open(f))):
            print(f"{f}: {list(e.absolute_path)}: {e.message}")
            bad += 1
        checked += 1
for what in ("chips", "models", "nics", "cpus", "servers", "switches", "storage"):
    f = os.path.join(root, "scenarios", "catalog", what + ".json")
    for e in schema(what).iter_errors(json.load(open(f))):
        print(f"{f}: {list(e.absolute_path)}: {e.message}")
        bad += 1
    checked += 1
# And it rejects what the parser rejects.
d = json.load(open(os.path.join(root, "scenarios", "default.json")))
d["placements"][0]["tp"] = 4294967300
if scen.is_valid(d):
    print("the schema accepts tp = 4294967300")
    bad += 1
print(f"schema: {checked} files checked, {bad} problems")
sys.exit(1 if bad else 0)
