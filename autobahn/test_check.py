#!/usr/bin/env python3
"""Tests for autobahn/check.py on synthetic wstest reports.

Run: python3 -m unittest autobahn/test_check.py   (or python3 autobahn/test_check.py)
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402

AGENT = "rfc6455"


def all_case_ids():
    with open(os.path.join(HERE, "cases.txt"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def entry(behavior="OK", close="OK"):
    return {"behavior": behavior, "behaviorClose": close, "duration": 3,
            "remoteCloseCode": 1000, "reportfile": "rfc6455_case.json"}


class CheckTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self.ids = all_case_ids()

    def tearDown(self):
        self._tmp.cleanup()

    def good_results(self, ids=None):
        results = {c: entry() for c in (ids if ids is not None else self.ids)}
        # Realistic extras that must pass: wstest marks some cases INFORMATIONAL.
        for c in ("1.1.1", "7.1.6", "7.13.1"):
            if c in results:
                results[c] = entry("INFORMATIONAL", "INFORMATIONAL")
        return results

    def write(self, results, agent=AGENT):
        with open(os.path.join(self.dir, "index.json"), "w", encoding="utf-8") as f:
            json.dump({agent: results}, f)

    def write_cases(self, ids):
        path = os.path.join(self.dir, "expected.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(c + "\n" for c in ids))
        return path

    def run_main(self, *extra, agent=AGENT, cases=None, expect=None):
        args = [self.dir, "--agent", agent]
        if cases is not None:
            args += ["--cases-file", self.write_cases(cases)]
        if expect is not None:
            args += ["--expect-cases", str(expect)]
        args += list(extra)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rc = check.main(args)
        return rc, out.getvalue()

    # --- the full case list is what run.sh relies on
    def test_cases_file_has_517_unique_ids(self):
        self.assertEqual(len(self.ids), 517)
        self.assertEqual(len(set(self.ids)), 517)
        self.assertEqual(sum(c.startswith(("12.", "13.")) for c in self.ids), 216)
        for x in range(1, 6):
            self.assertIn("12.%d.18" % x, self.ids)
        for x in range(1, 8):
            self.assertIn("13.%d.18" % x, self.ids)

    # --- passing reports
    def test_good_full_report_passes(self):
        self.write(self.good_results())
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS", out)
        self.assertRegex(out, r"OK\s+514\s+514")
        self.assertRegex(out, r"INFORMATIONAL\s+3\s+3")

    def test_good_report_passes_with_count_only(self):
        self.write(self.good_results())
        rc, out = self.run_main(expect=517)
        self.assertEqual(rc, 0, out)

    def test_sampled_report_passes_against_its_sample(self):
        sample = [c for c in self.ids if not c.startswith(("12.", "13."))] + ["12.1.1", "13.7.18"]
        self.write(self.good_results(sample))
        rc, out = self.run_main(cases=sample)
        self.assertEqual(rc, 0, out)

    def test_unimplemented_allowed_in_flagged_sections(self):
        results = self.good_results()
        for c in results:
            if c.startswith(("12.", "13.")):
                results[c] = entry("UNIMPLEMENTED", "OK")
        self.write(results)
        rc, out = self.run_main("--allow-unimplemented", "12,13", cases=self.ids, expect=517)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"UNIMPLEMENTED\s+216")
        # ...and strict by default.
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("12.1.1: behavior UNIMPLEMENTED outside the allowed sections", out)

    # --- failing reports
    def test_failed_case_fails(self):
        results = self.good_results()
        results["5.7"] = entry("FAILED", "OK")
        self.write(results)
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("5.7: behavior FAILED", out)
        self.assertRegex(out, r"FAILED\s+1\s+0")

    def test_non_strict_case_fails(self):
        results = self.good_results()
        results["6.4.3"] = entry("NON-STRICT", "OK")
        self.write(results)
        rc, out = self.run_main(cases=self.ids)
        self.assertEqual(rc, 1, out)
        self.assertIn("6.4.3: behavior NON-STRICT", out)

    def test_missing_case_fails(self):
        results = self.good_results()
        del results["9.8.6"]
        self.write(results)
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("9.8.6: missing from the report", out)
        # Count-only mode notices it too.
        rc, out = self.run_main(expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("516 cases", out)

    def test_unexpected_case_fails(self):
        sample = [c for c in self.ids if c.startswith("1.")]
        results = self.good_results(sample)
        results["12.1.1"] = entry()
        self.write(results)
        rc, out = self.run_main(cases=sample)
        self.assertEqual(rc, 1, out)
        self.assertIn("12.1.1: in the report but not expected", out)

    def test_wrong_agent_fails(self):
        self.write(self.good_results(), agent="SomeOtherServer/1.0")
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("agent 'rfc6455' not in report", out)
        self.assertIn("SomeOtherServer/1.0", out)

    def test_bad_behavior_close_fails(self):
        for bad in ("FAILED", "NON-STRICT", "WRONG CODE", "UNCLEAN", None):
            with self.subTest(behaviorClose=bad):
                results = self.good_results()
                results["7.9.1"] = entry("OK", bad)
                self.write(results)
                rc, out = self.run_main(cases=self.ids)
                self.assertEqual(rc, 1, out)
                self.assertIn("7.9.1: behaviorClose %s" % bad, out)

    def test_unimplemented_outside_allowed_sections_fails(self):
        results = self.good_results()
        results["12.2.3"] = entry("UNIMPLEMENTED", "OK")
        results["7.5.1"] = entry("UNIMPLEMENTED", "OK")
        self.write(results)
        rc, out = self.run_main("--allow-unimplemented", "12,13", cases=self.ids)
        self.assertEqual(rc, 1, out)
        self.assertIn("7.5.1: behavior UNIMPLEMENTED outside the allowed sections", out)
        self.assertNotIn("12.2.3:", out)
        # A narrower allowance covers only its subsection.
        rc, out = self.run_main("--allow-unimplemented", "12.1", cases=self.ids)
        self.assertEqual(rc, 1, out)
        self.assertIn("12.2.3: behavior UNIMPLEMENTED outside the allowed sections", out)

    def test_broken_testee_without_utf8_validation_fails(self):
        # What wstest reports for a testee that echoes invalid UTF-8 text
        # instead of failing the connection: the 6.x invalid-UTF-8 cases FAIL.
        results = self.good_results()
        broken = [c for c in self.ids if c.startswith(("6.3.", "6.4.")) or
                  (c.startswith("6.") and c.split(".")[1] in ("6", "8", "10", "11", "12", "13",
                                                              "14", "15", "16", "17", "18",
                                                              "19", "20", "21"))]
        self.assertGreater(len(broken), 50)
        for c in broken:
            results[c] = entry("FAILED", "FAILED")
        self.write(results)
        rc, out = self.run_main(cases=self.ids, expect=517)
        self.assertEqual(rc, 1, out)
        for c in ("6.3.1", "6.4.1", "6.20.7"):
            self.assertIn("%s: behavior FAILED" % c, out)
            self.assertIn("%s: behaviorClose FAILED" % c, out)
        self.assertRegex(out, r"FAILED\s+%d\s+%d" % (len(broken), len(broken)))

    # --- unreadable input
    def test_missing_report_is_an_error(self):
        rc, out = self.run_main(expect=517)
        self.assertEqual(rc, 2, out)
        self.assertIn("index.json", out)

    def test_corrupt_report_is_an_error(self):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            f.write("{not json")
        rc, out = self.run_main(expect=517)
        self.assertEqual(rc, 2, out)

    def test_cases_file_count_mismatch_fails(self):
        self.write(self.good_results())
        rc, out = self.run_main(cases=self.ids[:-1], expect=517)
        self.assertEqual(rc, 1, out)
        self.assertIn("expected-case list has 516 ids", out)

    def test_cases_file_json_list_and_comments(self):
        path = os.path.join(self.dir, "c.json")
        with open(path, "w") as f:
            json.dump(["1.1.1", "2.1"], f)
        self.assertEqual(check.read_cases_file(path), ["1.1.1", "2.1"])
        with open(path, "w") as f:
            f.write("# comment\n1.1.1\n\n2.1  # trailing\n")
        self.assertEqual(check.read_cases_file(path), ["1.1.1", "2.1"])

    def test_case_ids_sort_numerically(self):
        self.assertEqual(sorted(["9.10", "9.2", "10.1.1", "1.1.10", "1.1.2"], key=check.case_key),
                         ["1.1.2", "1.1.10", "9.2", "9.10", "10.1.1"])


if __name__ == "__main__":
    unittest.main()
