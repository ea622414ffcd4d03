"""watch's checks before a stream starts: folders, checkpoint and output that belong
together, settings that match the checkpoint's, and its options (no Spark here)."""

import json
import os
import re

import pytest

from sparkvision.cli.main import build_parser, main
from sparkvision.errors import ConfigError, InputError, OutputError
from sparkvision.watch.stream import STATE_FILE, WatchConfig, path_glob, prepare_locations

SETTINGS = {"task": "classify", "model": "catdog", "format": "parquet", "input": "/in",
            "out": "/out"}


def config(tmp_path, **changes):
    (tmp_path / "in").mkdir(exist_ok=True)
    values = dict(input_dir=str(tmp_path / "in"), out=str(tmp_path / "out"),
                  checkpoint=str(tmp_path / "cp"))
    return WatchConfig(**{**values, **changes})


def test_a_new_stream_writes_its_state_and_a_restart_reads_it(tmp_path):
    first = prepare_locations(config(tmp_path), SETTINGS)
    assert len(first["app_id"]) == 32
    assert json.loads((tmp_path / "cp" / STATE_FILE).read_text()) == first
    assert prepare_locations(config(tmp_path), SETTINGS) == first  # the same app id


def test_other_settings_on_a_checkpoint_are_refused(tmp_path):
    prepare_locations(config(tmp_path), SETTINGS)
    with pytest.raises(ConfigError, match="model: 'catdog' then, 'imagenet' now"):
        prepare_locations(config(tmp_path), dict(SETTINGS, model="imagenet"))


def test_outputs_and_checkpoints_that_do_not_belong_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="mounted shared file system"):
        prepare_locations(config(tmp_path, checkpoint="s3a://bucket/cp"), SETTINGS)
    with pytest.raises(InputError, match="does not exist"):
        prepare_locations(config(tmp_path, input_dir=str(tmp_path / "nowhere")), SETTINGS)
    # an fsspec-only scheme: Spark's file stream source cannot read it; the message names
    # the Hadoop scheme to use
    with pytest.raises(ConfigError, match=r"cannot watch 's3://pets/new/'.*s3a://"):
        prepare_locations(config(tmp_path, input_dir="s3://pets/new/"), SETTINGS)
    assert not (tmp_path / "cp").exists()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part-0.parquet").write_bytes(b"x")
    with pytest.raises(OutputError, match="already exists"):
        prepare_locations(config(tmp_path), SETTINGS)  # a new checkpoint, an old output
    (tmp_path / "cp2").mkdir()
    (tmp_path / "cp2" / "offsets").mkdir()
    with pytest.raises(ConfigError, match="not written by sparkvision watch"):
        prepare_locations(config(tmp_path, checkpoint=str(tmp_path / "cp2")), SETTINGS)
    # the output of a checkpoint that has committed batches is gone
    prepare_locations(config(tmp_path, out=str(tmp_path / "out3"),
                             checkpoint=str(tmp_path / "cp3")), SETTINGS)
    os.makedirs(tmp_path / "cp3" / "commits")
    (tmp_path / "cp3" / "commits" / "0").write_text("v1")
    with pytest.raises(OutputError, match="is missing"):
        prepare_locations(config(tmp_path, out=str(tmp_path / "out3"),
                                 checkpoint=str(tmp_path / "cp3")), SETTINGS)


def test_path_glob_matches_extensions_in_any_case():
    glob = path_glob((".jpg", ".tiff"))
    assert glob == "*.{[jJ][pP][gG],[tT][iI][fF][fF]}"
    alternatives = glob[3:-1].split(",")
    as_regex = re.compile(r".*\.(" + "|".join(alternatives) + r")$")
    assert all(as_regex.match(n) for n in ("a.jpg", "B.JPG", "c.Jpg", "d.TiFf"))
    assert not any(as_regex.match(n) for n in ("a.jpeg", "notes.txt", "x.jpg.part"))


def test_watch_options_are_checked(capsys):
    args = build_parser().parse_args(["watch", "in", "--out", "o", "--checkpoint", "c",
                                      "--task", "embed", "--once", "--format", "delta"])
    assert (args.task, args.once, args.format, args.model) == ("embed", True, "delta", None)
    with pytest.raises(ConfigError, match="`max_files_per_trigger` must be >= 1"):
        WatchConfig(input_dir="i", out="o", checkpoint="c", max_files_per_trigger=0)
    with pytest.raises(ConfigError, match="watch writes parquet or delta"):
        WatchConfig(input_dir="i", out="o", checkpoint="c", format="csv")
    # the library names the parameter; the command line says its flag
    assert main(["watch", "in", "--out", "o.csv", "--checkpoint", "c"]) == 2
    assert "watch writes parquet or delta; found --format 'csv'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["watch", "in", "--out", "o"])  # --checkpoint is required
