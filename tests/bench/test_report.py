"""The bench's verdicts and report: a missed target is a FAIL, an unmeasured figure is never shown."""

import json

from bench import report
from bench.loopback import hanging_count, hangs
from bench.report import Figure, Result, Target


def _result(*figures: Figure, error: str = "") -> Result:
    return Result(benchmark="demo", title="Demo", figures=list(figures), error=error)


def test_a_figure_that_misses_its_target_is_a_fail():
    assert Figure("wall ratio", 0.9, "×", target=Target("<=", 0.75)).verdict() == "FAIL"
    assert Figure("wall ratio", 0.75, "×", target=Target("<=", 0.75)).verdict() == "PASS"
    assert Figure("rps ratio", 0.4, target=Target(">=", 0.5)).verdict() == "FAIL"
    assert Figure("ids", 999, target=Target("==", 1000)).verdict() == "FAIL"


def test_a_figure_without_a_target_is_information_and_a_check_can_decide_itself():
    assert Figure("wall", 3.2, "s").verdict() == "info"
    assert Figure("queries", "6 → 7", target=Target("<=", 6), passed=False).verdict() == "FAIL"


def test_the_table_shows_each_figure_beside_its_target_and_verdict():
    text = report.render_text(
        [_result(Figure("CPU ours / exporter", 0.7, "×", target=Target("<=", 0.35)))]
    )
    line = next(line for line in text.splitlines() if "CPU ours / exporter" in line)
    assert "0.7 ×" in line
    assert "≤ 0.35" in line
    assert line.rstrip().endswith("FAIL")


def test_the_document_marks_failures_and_counts_them():
    results = [
        _result(
            Figure("wall", 1.0, "s", target=Target("<=", 2)),
            Figure("billing", 15.1, "s", target=Target("<=", 2, text="≤ 2 s")),
        )
    ]
    info = report.machine()
    text = report.render_markdown(results, info=info, command="make bench", seconds=12)
    assert "| billing | 15.1 s | ≤ 2 s | **FAIL** |" in text
    assert "1 PASS, 1 FAIL" in text
    assert f"{info['cores']} cores" in text


def test_a_benchmark_that_could_not_run_shows_why_and_no_figure():
    broken = _result(Figure("wall", 1.0, "s"), error="the exporter did not start")
    broken.figures.clear()
    text = report.render_text([broken])
    assert "COULD NOT RUN: the exporter did not start" in text
    assert "wall" not in text
    assert report.exit_code([broken]) == 2


def test_the_exit_code_says_whether_every_target_was_met():
    passing = _result(Figure("wall", 1.0, "s", target=Target("<=", 2)))
    failing = _result(Figure("wall", 3.0, "s", target=Target("<=", 2)))
    assert report.exit_code([passing]) == 0
    assert report.exit_code([passing, failing]) == 1


def test_results_keep_their_verdicts_through_json(tmp_path):
    original = _result(
        Figure("wall", 3.0, "s", target=Target("<=", 2)),
        Figure("cpu", 1.0, "s", target=Target("<=", 2)),
        Figure("probes/s", 500, "/s"),
    )
    path = tmp_path / "results.json"
    report.write_json(path, [original], info=report.machine(), seconds=1)
    loaded = Result.from_dict(json.loads(path.read_text())["benchmarks"][0])
    assert [f.verdict() for f in loaded.figures] == ["FAIL", "PASS", "info"]
    assert loaded.figures[0].target.describe() == "≤ 2"


def test_percentiles_use_the_nearest_rank():
    values = list(range(1, 101))
    assert report.percentile(values, 0.95) == 95
    assert report.median([3, 1, 2]) == 2


def test_exactly_the_asked_share_of_stub_endpoints_hangs():
    assert hanging_count(10_000, 1) == 100
    assert sum(hangs(index, 1) for index in range(10_000)) == 100
    assert [index for index in range(300) if hangs(index, 1)] == [99, 199, 299]
    assert not any(hangs(index, 0) for index in range(1000))


def test_the_document_can_be_rendered_again_from_the_last_runs_json(tmp_path, monkeypatch):
    from bench.__main__ import main_report

    monkeypatch.setenv("MARKET_VAR_DIR", str(tmp_path))
    failing = _result(Figure("billing", 15.1, "s", target=Target("<=", 2, text="≤ 2 s")))
    report.write_json(tmp_path / "results.json", [failing], info=report.machine(), seconds=9.7)
    doc = tmp_path / "performance.md"
    assert main_report(doc=doc) == 1  # a figure missed its target
    text = doc.read_text()
    assert "in one run of 9 s" in text
    assert "| billing | 15.1 s | ≤ 2 s | **FAIL** |" in text
    assert "why targets are missed" in text  # the written findings follow the tables
