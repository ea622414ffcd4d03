import io
import json

import pytest

from sparkvision.jobs.summary import (
    Progress,
    RunSummary,
    format_progress,
    per_class_scores,
    render_confusion,
)


def test_progress_line():
    line = format_progress(25, 100, 5.0)
    assert "25/100 images" in line and "5.0 img/s" in line and "ETA 0:15" in line


def test_progress_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    with Progress(10, lambda: 5, stream=stream, interval=0.01):
        pass
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with Progress(10, lambda: 10, stream=stream, interval=0.01) as bar:
        assert bar.enabled
    assert "10/10 images" in stream.getvalue()


def test_confusion_and_summary_render():
    table = render_confusion({"cat": {"cat": 8, "other": 2}, "dog": {"dog": 9, "cat": 1}})
    lines = table.splitlines()
    assert lines[0].split()[-3:] == ["cat", "dog", "other"]
    assert lines[1].split() == ["cat", "8", "0", "2"]
    summary = RunSummary(inputs=3, ok=2, failed=1, failed_by_kind={"empty": 1}, seconds=1.0,
                         images_per_s=3.0, output="o", format="parquet")
    assert "failed (empty): 1" in summary.render()


def summary_of(rows):
    summary = RunSummary(inputs=0, ok=0, failed=0, failed_by_kind={}, seconds=1.0,
                         images_per_s=0.0, output="o", format="parquet")
    summary.set_confusion(rows)
    return summary


def test_precision_and_recall_from_a_known_confusion():
    # true cat: 40 cat, 2 dog, 8 other; true dog: 1 cat, 49 dog
    summary = summary_of([("cat", "cat", 40), ("cat", "dog", 2), ("cat", "other", 8),
                          ("dog", "dog", 49), ("dog", "cat", 1)])
    cat, dog = summary.per_class["cat"], summary.per_class["dog"]
    assert cat["precision"] == pytest.approx(40 / 41) and cat["recall"] == pytest.approx(40 / 50)
    assert dog["precision"] == pytest.approx(49 / 51) and dog["recall"] == pytest.approx(49 / 50)
    assert (cat["true"], cat["predicted"], dog["true"], dog["predicted"]) == (50, 41, 50, 51)
    assert summary.accuracy == pytest.approx(89 / 100)


def test_class_predicted_but_never_true_and_true_but_never_predicted():
    # "other" is predicted but never a true label; "bird" is a true label never predicted
    scores = per_class_scores({"cat": {"cat": 3, "other": 1}, "bird": {"cat": 2}})
    assert list(scores) == ["bird", "cat", "other"]
    assert scores["other"] == {"precision": 0.0, "recall": None, "true": 0, "predicted": 1}
    assert scores["bird"] == {"precision": None, "recall": 0.0, "true": 2, "predicted": 0}
    assert scores["cat"]["precision"] == pytest.approx(3 / 5)
    assert scores["cat"]["recall"] == pytest.approx(3 / 4)


def test_per_class_is_printed_and_written_to_json():
    summary = summary_of([("cat", "cat", 8), ("cat", "other", 2), ("dog", "dog", 9),
                          ("dog", "cat", 1)])
    lines = summary.render().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class"))
    assert lines[start].split() == ["class", "precision", "recall", "true", "predicted"]
    assert lines[start + 1].split() == ["cat", "88.9%", "80.0%", "10", "9"]
    assert lines[start + 2].split() == ["dog", "100.0%", "90.0%", "10", "9"]
    assert lines[start + 3].split() == ["other", "0.0%", "-", "0", "2"]
    written = json.loads(summary.to_json())
    assert written["per_class"]["other"] == {"precision": 0.0, "recall": None, "true": 0,
                                             "predicted": 2}
    assert written["per_class"]["dog"]["recall"] == pytest.approx(0.9)


def test_no_labels_means_no_per_class_table():
    summary = summary_of([])
    assert summary.per_class == {} and summary.accuracy is None
    assert "precision" not in summary.render()
