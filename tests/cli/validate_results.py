#!/usr/bin/python3
"""validate_results.py [--current] SCHEMA FILE_OR_DIR... — checks result files
against the result schema (docs/result.schema.json, JSON Schema 2020-12).

Every inference_time-*.json and pipeline-*.json named, or found under a named
folder (recursively), is parsed (strictly: NaN and Infinity are refused, as
the C writer never writes them) and validated. Each failure is printed as
"FILE: JSON-PATH: message". A file named pipeline-* must hold a "pipeline"
block and an inference_time-* file must not (docs/result-schema.md, file
names). --current also applies the schema's "#/$defs/current": the fields
today's writers always write (for freshly written files; older schema-1
files, such as tests/data/report-fixture*, lack some of them).

Exit 0 when every file is valid, 1 when one is not or when no file was found
(a check of nothing must not pass), 2 on bad usage or an unreadable schema.
Needs Debian's python3-jsonschema (scripts/install-deps.sh).
"""
import fnmatch
import json
import os
import sys

PATTERNS = ("inference_time-*.json", "pipeline-*.json")
USAGE = "usage: validate_results.py [--current] SCHEMA FILE_OR_DIR..."


def usage(msg):
    print(f"validate_results.py: {msg}\n{USAGE}", file=sys.stderr)
    sys.exit(2)


def is_result_name(name):
    return any(fnmatch.fnmatchcase(name, p) for p in PATTERNS)


def find_files(targets):
    files = []
    for t in targets:
        if os.path.isdir(t):
            for root, dirs, names in os.walk(t):
                dirs.sort()
                files += [os.path.join(root, n) for n in sorted(names) if is_result_name(n)]
        elif os.path.isfile(t):
            files.append(t)  # named explicitly: checked whatever its name
        else:
            usage(f"'{t}': no such file or directory")
    return files


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_path(e):
    """The failing value's place, e.g. $.times_s[1] or $.config.backend_options['cpu.algo']."""
    out = "$"
    for k in e.absolute_path:
        if isinstance(k, int):
            out += f"[{k}]"
        elif k.isidentifier():
            out += f".{k}"
        else:
            out += f"[{k!r}]"
    return out


def comment_for(schema, schema_path):
    """The last $comment met on the way to a failing keyword: it says why a
    field is not allowed where a false schema refuses it."""
    node, last = schema, None
    for k in schema_path:
        if isinstance(node, dict) and "$comment" in node:
            last = node["$comment"]
        if k == "$ref" and isinstance(node, dict) and str(node.get("$ref")).startswith("#/"):
            target = schema
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
            continue
        try:
            node = node[k]
        except (KeyError, IndexError, TypeError):
            break
    return last


def message(e, schema):
    """The error's message, without a long dump of the failing value."""
    if e.schema is False:
        why = comment_for(schema, e.absolute_schema_path)
        return "not allowed here" + (f" ({why})" if why else "")
    m = e.message
    return m if len(m) <= 300 else m[:300] + " ..."


def check_file(path, validator):
    """The problems of one file, as printable lines ([] when valid)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return [f"{path}: not valid JSON: {e}"]
    problems = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        problems.append(f"{path}: {json_path(e)}: {message(e, validator.schema)}")
    if isinstance(doc, dict):
        name = os.path.basename(path)
        if name.startswith("pipeline-") and "pipeline" not in doc:
            problems.append(f"{path}: $: a pipeline-* file without a 'pipeline' block")
        if name.startswith("inference_time-") and "pipeline" in doc:
            problems.append(f"{path}: $.pipeline: an inference_time-* file with a 'pipeline' block")
        problems += slice_problems(path, doc)
    return problems


def slice_problems(path, doc):
    """measurement.slice_batches must split times_s exactly (the answer's
    round judge relies on it: src/stats/rounds.h)."""
    m, times = doc.get("measurement"), doc.get("times_s")
    if not isinstance(m, dict) or not isinstance(m.get("slice_batches"), list) or not isinstance(times, list):
        return []
    counts = m["slice_batches"]
    if all(isinstance(c, int) for c in counts) and sum(counts) != len(times):
        return [f"{path}: $.measurement.slice_batches: adds up to {sum(counts)}, times_s holds {len(times)}"]
    if len(counts) != m.get("rounds", len(counts)):
        return [f"{path}: $.measurement.slice_batches: {len(counts)} slices, rounds says {m.get('rounds')}"]
    rtt = m.get("slice_core_rtt_ns")
    if isinstance(rtt, list) and len(rtt) != len(counts):
        return [f"{path}: $.measurement.slice_core_rtt_ns: {len(rtt)} entries for {len(counts)} slices"]
    return []


def main(argv):
    args = list(argv)
    current = "--current" in args
    args = [a for a in args if a != "--current"]
    if any(a.startswith("--") for a in args):
        usage(f"unknown option '{next(a for a in args if a.startswith('--'))}'")
    if len(args) < 2:
        usage("expected a schema and at least one file or folder")
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        print("validate_results.py: the jsonschema module is missing (apt-get install python3-jsonschema)",
              file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as e:
        usage(f"schema '{args[0]}': {e}")
    except Exception as e:  # jsonschema.SchemaError: the schema itself is wrong
        usage(f"schema '{args[0]}' is not a valid JSON Schema: {getattr(e, 'message', e)}")
    if current:
        schema = dict(schema, allOf=schema.get("allOf", []) + [{"$ref": "#/$defs/current"}])
    validator = Draft202012Validator(schema)
    files = find_files(args[1:])
    if not files:
        print(f"validate_results.py: no {' or '.join(PATTERNS)} files in {' '.join(args[1:])}: nothing checked",
              file=sys.stderr)
        return 1
    bad = 0
    for path in files:
        problems = check_file(path, validator)
        for p in problems:
            print(p)
        bad += bool(problems)
    print(f"validate_results.py: {len(files) - bad} of {len(files)} result files valid"
          f"{' (--current)' if current else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
