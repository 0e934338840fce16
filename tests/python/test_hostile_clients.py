"""The hardening tool's parts that need no server (tests/hardening): bad
payloads, the bad_frame verdict, expansion texts, the nonreading_streams
report, the sigterm table, options and the result table. ctest hardening
runs the scenarios against the real server."""

import argparse
import contextlib
import io
import pathlib
import sys
import unittest

from google.protobuf import descriptor_pb2

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hardening"))

import bad_input  # noqa: E402
import expansion  # noqa: E402
import hostile_clients  # noqa: E402
import memory_pressure  # noqa: E402
import scenario_env  # noqa: E402
import sigterm_load  # noqa: E402


def fake_env(**args):
    return argparse.Namespace(args=argparse.Namespace(**args))


class BadInputTest(unittest.TestCase):

    def test_deep_groups_open_then_close_unknown_field_groups(self):
        self.assertEqual(bad_input.deep_groups(2), b"\xa3\x01\xa3\x01\xa4\x01\xa4\x01")

    def test_bad_payloads_do_not_parse_and_are_the_same_every_run(self):
        cls = descriptor_pb2.FileDescriptorProto
        valid = cls(name="x" * 50, package="p").SerializeToString()
        payloads = bad_input.bad_payloads(cls, valid)
        self.assertEqual(list(payloads), ["random", "truncated", "deep_groups_200"])
        for name, data in payloads.items():
            self.assertTrue(bad_input.fails_to_parse(cls, data), name)
        self.assertFalse(bad_input.fails_to_parse(cls, valid))
        self.assertEqual(payloads, bad_input.bad_payloads(cls, valid))
        self.assertEqual(len(payloads["random"]), 64)

    def test_judge_bad_frame(self):
        good = {"code": "INVALID_ARGUMENT", "details": "stream message 3 is not valid",
                "answered": [2, 0, 1]}
        self.assertEqual(bad_input.judge_bad_frame("r", good), [])
        cases = [({"code": "OK"}, "ended OK"),
                 ({"code": "INTERNAL"}, "expected INVALID_ARGUMENT"),
                 ({"details": "stream message 13 is not valid"}, "does not name sequence 3"),
                 ({"answered": [0, 1, 2, 3]}, "expected [0, 1, 2]")]
        for change, message in cases:
            failures = bad_input.judge_bad_frame("r", dict(good, **change))
            self.assertEqual(len(failures), 1, change)
            self.assertIn(message, failures[0])


class ExpansionTest(unittest.TestCase):

    def test_every_long_input_has_the_length_asked_and_distinct_texts(self):
        inputs = expansion.expansion_inputs(300)
        self.assertEqual(len(inputs), 7)
        self.assertEqual(list(inputs)[0], "normal chat (~60 chars)")
        for name, make_text in list(inputs.items())[1:]:
            self.assertEqual(len(make_text(7)), 300, name)
            self.assertNotEqual(make_text(7), make_text(8), name)

    def test_combining_text_is_one_base_letter_with_marks(self):
        text = expansion.combining_text("\u0301\u0316", 20, 5)
        self.assertEqual(len(text), 20)
        self.assertTrue(text.startswith("a\u0301\u0316\u0301"))
        self.assertTrue(text.endswith(" #5"))


class FakeCall:
    def __init__(self, code=None):
        self._code = code

    def done(self):
        return self._code is not None

    def code(self):
        return self._code


class NonreadingStreamsTest(unittest.TestCase):

    def test_server_max_chars_reads_the_server_arguments(self):
        self.assertEqual(memory_pressure.server_max_chars(fake_env(server_arg=[])), 4096)
        self.assertEqual(memory_pressure.server_max_chars(
            fake_env(server_arg=["--threads=2", "--max-message-chars=100"])), 100)
        self.assertEqual(memory_pressure.server_max_chars(
            fake_env(server_arg=["--max-message-chars", "200"])), 200)

    def test_stream_final_codes_counts_open_streams(self):
        import grpc
        calls = [FakeCall(), FakeCall(grpc.StatusCode.RESOURCE_EXHAUSTED), FakeCall(),
                 FakeCall(grpc.StatusCode.RESOURCE_EXHAUSTED)]
        self.assertEqual(memory_pressure.stream_final_codes(calls),
                         {"open": 2, "RESOURCE_EXHAUSTED": 2})

    def test_at_peak_takes_the_highest_rss_and_the_largest_counts(self):
        rows = [{"rss_mb": 300.0, "active_streams": 9, "queue_depth": 1},
                {"rss_mb": 350.0, "active_streams": 5, "queue_depth": 7},
                {"rss_mb": None, "active_streams": 50, "queue_depth": 50},
                {"rss_mb": 400.0, "code": "DEADLINE_EXCEEDED"}]
        peak, most = memory_pressure.at_peak(rows)
        self.assertIs(peak, rows[1])
        self.assertEqual(most, {"active_streams": 9, "queue_depth": 7})
        self.assertEqual(memory_pressure.at_peak(rows[2:]), (None, None))

    def test_result_fields_and_summary(self):
        args = argparse.Namespace(streams=4, connections=2, stream_seconds=3, message_bytes=300)
        statuses = [{"t_s": 1.0, "rss_mb": 380.0, "code": "OK", "ms": 2.0, "active_streams": 4,
                     "queue_depth": 9, "errors": {}},
                    {"t_s": 2.0, "rss_mb": None, "code": "DEADLINE_EXCEEDED", "ms": 15000.0}]
        run = {"message_chars": 300, "open_s": 0.2, "during_mb": 390.0,
               "final_codes": {"open": 3, "RESOURCE_EXHAUSTED": 1},
               "probes": [("OK", 10.0, 8.0), ("OK", 30.0, 20.0), ("UNAVAILABLE", 1.0, None)],
               "statuses": statuses, "after": {"rss_mb": 350.0}, "status_code": "OK",
               "status": None, "frames_handed": 1234, "rss_samples": [[0.0, 380.0]]}
        out = memory_pressure.nonreading_result(args, run)
        self.assertEqual(list(out), [
            "streams", "connections", "seconds", "message_bytes", "message_chars",
            "open_seconds", "frames_handed", "stream_final_codes", "refused_at_open",
            "peak_during_mb", "status_at_peak", "status_max", "status_polls",
            "status_polls_failed", "status_samples", "after_cancel_mb", "probes",
            "probe_results", "probe_codes", "probe_median_ms", "probe_max_ms",
            "probe_server_median_ms", "status_after_cancel", "status_code", "rss_samples"])
        self.assertEqual((out["refused_at_open"], out["status_polls"], out["status_polls_failed"]),
                         (1, 2, 1))
        self.assertEqual((out["probes"], out["probe_codes"]), (3, ["OK", "UNAVAILABLE"]))
        self.assertEqual((out["probe_median_ms"], out["probe_max_ms"],
                          out["probe_server_median_ms"]), (20.0, 30.0, 14.0))
        self.assertIs(out["status_at_peak"], statuses[0])
        summary = memory_pressure.nonreading_summary(args, out)
        self.assertEqual(len(summary), 6)
        self.assertEqual(summary[0], "4 streams on 2 connections for 3s, 300-byte texts "
                                     "(300 code points): 1234 frames handed to gRPC")
        self.assertIn("(refused at open: 1)", summary[1])
        self.assertEqual(summary[2], "RSS peak during 390 MB, after cancel +5 s 350.0 MB")
        self.assertEqual(summary[5], "after cancel: None")


class ReportTest(unittest.TestCase):

    def test_check_rss_bound_uses_the_larger_of_peak_and_hwm(self):
        env = fake_env(max_rss_mb=500)
        result = {"failures": [], "rss": {"peak_mb": 480.0, "hwm_mb": 510.0}}
        scenario_env.check_rss_bound(env, result)
        self.assertEqual(result["failures"], ["peak RSS 510 MB > --max-rss-mb 500"])
        result = {"failures": [], "rss": {"peak_mb": 480.0, "hwm_mb": 499.0}}
        scenario_env.check_rss_bound(env, result)
        self.assertEqual(result["failures"], [])

    def test_sigterm_rows(self):
        row = {"ok": 400, "unavailable": 3, "cancelled_or_other": 0, "not_serving_ms": 9.3,
               "first_unavailable_ms": 9.6, "first_refused_ms": 1012.1, "exit_ms": 1713.8,
               "exit_code": 0}
        lines = sigterm_load.sigterm_rows([row])
        self.assertEqual(lines[0].split(), ["run", "OK", "UNAV", "other", "NOT_SERVING",
                                            "first", "UNAV", "refused", "exit"])
        self.assertEqual(lines[1].split(), ["1", "400", "3", "0", "9.3", "9.6", "1012.1",
                                            "1713.8(0)"])

    def test_options(self):
        args = hostile_clients.parse_args([])
        self.assertEqual((args.scenario, args.max_rss_mb, args.streams, args.runs,
                          args.client_policy), (None, 600, 200, 1, "balancer"))
        args = hostile_clients.parse_args(["--scenario", "oversized", "--scenario", "bad_frame",
                                           "--server-arg=--threads=2"])
        self.assertEqual((args.scenario, args.server_arg),
                         (["oversized", "bad_frame"], ["--threads=2"]))
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            hostile_clients.parse_args(["--scenario", "nope"])
        self.assertEqual(sorted(hostile_clients.SCENARIOS), [
            "bad_frame", "bad_unary", "expansion", "nonreading_streams", "oversized",
            "sigterm_under_load"])

    def test_run_scenario_turns_a_tool_error_into_a_failure(self):
        def broken(env):
            raise KeyError("x")
        saved = dict(hostile_clients.SCENARIOS)
        hostile_clients.SCENARIOS.update(broken=broken, fine=lambda env: {"failures": []})
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                bad = hostile_clients.run_scenario(None, "broken")
            good = hostile_clients.run_scenario(None, "fine")
        finally:
            hostile_clients.SCENARIOS.clear()
            hostile_clients.SCENARIOS.update(saved)
        self.assertEqual(list(bad)[:2], ["scenario", "ok"])
        self.assertEqual((bad["ok"], bad["failures"]), (False, ["tool error: KeyError('x')"]))
        self.assertEqual((good["scenario"], good["ok"]), ("fine", True))
        self.assertIn("seconds", good)

    def test_print_table(self):
        results = [{"scenario": "bad_unary", "ok": False, "rss": {"baseline_mb": 1, "peak_mb": 2,
                                                                  "hwm_mb": 3},
                    "summary": ["first", "second"], "failures": ["it broke"]}]
        out = io.StringIO()
        hostile_clients.print_table(results, out)
        lines = out.getvalue().split("\n")
        self.assertEqual(lines[3].split(), ["bad_unary", "FAIL", "1/2/3", "first"])
        self.assertEqual(lines[4].strip(), "second")
        self.assertEqual(lines[5].strip(), "! it broke")


if __name__ == "__main__":
    unittest.main()
