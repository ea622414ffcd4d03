"""Every command alike: the shared flags on every parser, the same meaning everywhere,
library errors in the command line's words."""

from __future__ import annotations

import argparse

import pytest

from sparkvision.cli.flags import HEAD_OPTIONS
from sparkvision.cli.main import as_flags, build_parser, main, registry
from sparkvision.options import model_option_fields

COMMON = ("--quiet", "--verbose")
SPARK = ("--master", "--remote", "--conf")
MODEL = ("--model", "--engine", "--threads", "--batch-size", "--precision", "--device",
         "--ship", "--decode", "--model-config", "--image-size")
#: commands that run a model, and whether they classify (take the head's flags)
MODEL_COMMANDS = {"classify": True, "embed": False, "train": False, "dedup": False,
                  "watch": True}
INPUT_COMMANDS = ("classify", "embed", "train", "dedup", "watch")


def parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def options_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings}


def test_every_registered_command_has_a_parser_and_no_other():
    assert sorted(parsers()) == sorted(c.name for c in registry())


@pytest.mark.parametrize("command", [c.name for c in registry()])
def test_every_command_takes_the_shared_flags(command):
    spec = next(c for c in registry() if c.name == command)
    found = options_of(parsers()[command])
    assert all(flag in found for flag in COMMON), command
    # every command that runs Spark says where; bench makes its own sessions
    assert all((flag in found) == spec.spark for flag in SPARK), command
    if command in MODEL_COMMANDS:
        missing = [flag for flag in MODEL if flag not in found]
        assert not missing, f"{command} lacks {missing}"
        for flag in (f"--{name.replace('_', '-')}" for name in HEAD_OPTIONS):
            if command == "dedup" and flag == "--threshold":
                # dedup's --threshold is the old name of its --similarity
                assert found[flag] is found["--similarity"]
                continue
            assert (flag in found) == MODEL_COMMANDS[command], (command, flag)
    if command in INPUT_COMMANDS:
        assert "--extensions" in found


def test_help_of_every_command_lists_quiet_and_verbose(capsys):
    for command in parsers():
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert "--quiet" in text and "--verbose" in text, command
        spark = next(c for c in registry() if c.name == command).spark
        assert all((flag in text) == spark for flag in SPARK), command


def test_a_flag_means_the_same_on_every_command():
    """Same destination, default, choices and type wherever a shared flag appears."""
    shared = [*COMMON, *SPARK, *MODEL, "--extensions"]
    for flag in shared:
        seen = {}
        for name, parser in parsers().items():
            action = options_of(parser).get(flag)
            if action is None:
                continue
            default = None if flag == "--model" else action.default  # each task's own model
            seen[name] = repr((action.dest, default, action.choices, action.type,
                               action.nargs))
        assert len(set(seen.values())) == 1, (flag, seen)


def test_every_model_option_has_its_flag_on_classify():
    found = options_of(parsers()["classify"])
    for f in model_option_fields():
        if f.metadata["flag"]:
            assert "--" + f.name.replace("_", "-") in found, f.name


def test_extensions_are_parsed_once_the_same_way_everywhere():
    for command, extra in (("classify", []), ("embed", []), ("dedup", []),
                           ("train", ["--label-from", "folder"])):
        args = build_parser().parse_args(
            [command, "p", "--out", "o", *extra, "--extensions", "JPG, .png,webp"])
        assert args.extensions == (".jpg", ".png", ".webp"), command
    args = build_parser().parse_args(
        ["watch", "in", "--out", "o", "--checkpoint", "c", "--extensions", "Tif"])
    assert args.extensions == (".tif",)


def test_dedup_similarity_keeps_its_old_name():
    new = build_parser().parse_args(["dedup", "p", "--out", "o", "--similarity", "0.8"])
    old = build_parser().parse_args(["dedup", "p", "--out", "o", "--threshold", "0.8"])
    assert new.threshold == old.threshold == 0.8


def test_library_errors_name_parameters_and_the_cli_names_flags(capsys, tmp_path):
    assert as_flags("`batch_size` must be >= 1; `sort_mode` x", build_parser(),
                    "classify") == "--batch-size must be >= 1; --mode x"
    assert as_flags("`threshold` is a cosine", build_parser(), "dedup") == (
        "--similarity is a cosine")
    # an unknown name keeps its words, without the quotes
    assert as_flags("`spark.task.cpus` and `nothing`", build_parser(), "classify") == (
        "`spark.task.cpus` and nothing")
    code = main(["classify", str(tmp_path), "--out", str(tmp_path / "o"), "--batch-size", "0",
                 "--execution", "python"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--batch-size must be a whole number >= 1" in err and "`" not in err


def test_quiet_and_verbose_reach_a_command_that_runs_no_spark(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["make-dataset", "--n", "2", "--out", str(out), "--quiet"]) == 0
    assert len(list(out.glob("*.jpg"))) == 2


def test_output_flags_are_not_read_as_model_options():
    """``--format`` is the output's format; the model card's ``format`` has no flag."""
    from sparkvision.cli.flags import model_options

    args = build_parser().parse_args(["classify", "p", "--out", "o.delta", "--format", "delta"])
    assert args.format == "delta" and model_options(args).format is None


def test_dedup_similarity_is_not_the_model_threshold():
    from sparkvision.cli.flags import model_options

    args = build_parser().parse_args(["dedup", "p", "--out", "o", "--similarity", "0.8"])
    assert model_options(args).threshold is None
