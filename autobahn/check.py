#!/usr/bin/env python3
"""Gate an Autobahn testsuite report (wstest's REPORT_DIR/index.json).

Usage:
    check.py REPORT_DIR --agent NAME [--expect-cases N] [--cases-file FILE]
             [--allow-unimplemented SECTIONS] [--label TEXT]

Passes (exit 0) only when, for AGENT:
  * every expected case is present and no unexpected case is (the expected
    set comes from --cases-file; --expect-cases N checks the count),
  * every `behavior` is OK or INFORMATIONAL; UNIMPLEMENTED is accepted only
    for cases inside one of the --allow-unimplemented sections (e.g. "12,13"),
  * every `behaviorClose` is OK or INFORMATIONAL.
NON-STRICT and FAILED (and anything else) always fail.  Exit 1 lists the
offending cases; exit 2 means the report could not be read or the arguments
are wrong.  A table of counts per behavior is always printed.

Python 3 standard library only.
"""

import argparse
import json
import os
import sys

GOOD = ("OK", "INFORMATIONAL")
UNIMPLEMENTED = "UNIMPLEMENTED"


def case_key(case_id):
    """Sort key for ids like "9.1.10" (numeric per component)."""
    key = []
    for part in str(case_id).split("."):
        try:
            key.append((0, int(part), ""))
        except ValueError:
            key.append((1, 0, part))
    return key


def parse_sections(text):
    """"12,13" or "12 13" -> ["12", "13"]; empty -> []."""
    if not text:
        return []
    return [s.strip().rstrip(".") for s in text.replace(" ", ",").split(",") if s.strip()]


def in_sections(case_id, sections):
    """True when case_id is inside one of the sections ("12" covers 12.1.1, "12.3" covers 12.3.4)."""
    return any(case_id == s or case_id.startswith(s + ".") for s in sections)


def read_cases_file(path):
    """One case id per line (blank lines and #-comments ignored), or a JSON list."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stripped = text.strip()
    if stripped.startswith("["):
        ids = [str(x) for x in json.loads(stripped)]
    else:
        ids = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                ids.append(line)
    return ids


class CheckError(Exception):
    """The report or the arguments cannot be checked at all (exit 2)."""


def load_report(report_dir):
    path = os.path.join(report_dir, "index.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise CheckError("no report: %s does not exist (did wstest run to the end?)" % path)
    except (OSError, ValueError) as e:
        raise CheckError("cannot read %s: %s" % (path, e))
    if not isinstance(data, dict):
        raise CheckError("%s: expected a JSON object of agents" % path)
    return data


def check(report, agent, expected=None, expect_count=None, allow_unimplemented=()):
    """Return (problems, results) where problems is a list of strings (empty = pass)
    and results is the agent's {case_id: entry} (possibly empty)."""
    problems = []
    if agent not in report:
        agents = ", ".join(sorted(report)) or "none"
        problems.append("agent %r not in report (agents present: %s)" % (agent, agents))
        return problems, {}
    results = report[agent]
    if not isinstance(results, dict):
        problems.append("agent %r: expected an object of cases" % agent)
        return problems, {}

    if expected is not None:
        if expect_count is not None and len(set(expected)) != expect_count:
            problems.append("expected-case list has %d ids but %d cases were expected"
                            % (len(set(expected)), expect_count))
        missing = sorted(set(expected) - set(results), key=case_key)
        extra = sorted(set(results) - set(expected), key=case_key)
        for c in missing:
            problems.append("%s: missing from the report" % c)
        for c in extra:
            problems.append("%s: in the report but not expected" % c)
    elif expect_count is not None and len(results) != expect_count:
        problems.append("report has %d cases for %r, expected %d"
                        % (len(results), agent, expect_count))

    for c in sorted(results, key=case_key):
        entry = results[c]
        if not isinstance(entry, dict):
            problems.append("%s: malformed entry %r" % (c, entry))
            continue
        behavior = entry.get("behavior")
        close = entry.get("behaviorClose")
        where = entry.get("reportfile")
        suffix = " (%s)" % where if where else ""
        if behavior in GOOD:
            pass
        elif behavior == UNIMPLEMENTED and in_sections(c, allow_unimplemented):
            pass
        elif behavior == UNIMPLEMENTED:
            problems.append("%s: behavior UNIMPLEMENTED outside the allowed sections%s" % (c, suffix))
        else:
            problems.append("%s: behavior %s%s" % (c, behavior, suffix))
        if close not in GOOD:
            problems.append("%s: behaviorClose %s%s" % (c, close, suffix))
    return problems, results


def count_table(results):
    """Rows of (value, behavior count, behaviorClose count)."""
    b, bc = {}, {}
    for entry in results.values():
        if isinstance(entry, dict):
            v = str(entry.get("behavior"))
            b[v] = b.get(v, 0) + 1
            v = str(entry.get("behaviorClose"))
            bc[v] = bc.get(v, 0) + 1
    order = ["OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT", "FAILED"]
    keys = [k for k in order if k in b or k in bc]
    keys += sorted((set(b) | set(bc)) - set(order))
    return [(k, b.get(k, 0), bc.get(k, 0)) for k in keys]


def format_table(results, label):
    rows = count_table(results)
    out = ["%-16s %9s %14s" % (label, "behavior", "behaviorClose")]
    for k, n, nc in rows:
        out.append("%-16s %9d %14d" % (k, n, nc))
    out.append("%-16s %9d %14d" % ("total", len(results), len(results)))
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description="Gate an Autobahn testsuite report.")
    p.add_argument("report_dir", help="directory holding wstest's index.json")
    p.add_argument("--agent", required=True, help="agent name the testee reported as")
    p.add_argument("--expect-cases", type=int, metavar="N",
                   help="number of cases the run must contain (517 for a full run)")
    p.add_argument("--cases-file", metavar="FILE",
                   help="exact list of expected case ids (one per line, or a JSON list)")
    p.add_argument("--allow-unimplemented", default="", metavar="SECTIONS",
                   help='sections where UNIMPLEMENTED is accepted, e.g. "12,13"')
    p.add_argument("--label", default="", help="title for the count table (e.g. server)")
    args = p.parse_args(argv)

    try:
        report = load_report(args.report_dir)
        expected = read_cases_file(args.cases_file) if args.cases_file else None
    except (CheckError, OSError, ValueError) as e:
        print("check.py: %s" % e, file=sys.stderr)
        return 2

    allow = parse_sections(args.allow_unimplemented)
    problems, results = check(report, args.agent, expected, args.expect_cases, allow)

    label = args.label or args.agent
    print(format_table(results, label))
    if allow:
        print("UNIMPLEMENTED accepted in sections: %s" % ", ".join(allow))
    if problems:
        print("FAIL (%s): %d problem(s) in %s" % (label, len(problems), args.report_dir))
        for line in problems:
            print("  " + line)
        return 1
    print("PASS (%s): %d cases" % (label, len(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
