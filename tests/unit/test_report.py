import io

from sparkvision.report import Progress, RunSummary, format_progress, render_confusion


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
