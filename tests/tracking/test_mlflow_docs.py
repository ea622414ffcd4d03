"""docs/mlflow.md against the code, without a server: every `sparkvision` command line of
the page parses with the real parser (its flags exist, with the values shown), every
`make` target it names is defined, and its Python examples compile. What the commands do
is run by test_mlflow_models.py against a real server."""

from __future__ import annotations

import ast
import os
import re
import shlex

import pytest

from sparkvision.cli.main import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(lang: str) -> list[str]:
    with open(os.path.join(ROOT, "docs", "mlflow.md"), encoding="utf-8") as fh:
        return [body for kind, body in BLOCK.findall(fh.read()) if kind == lang]


def command_lines() -> list[str]:
    lines = []
    for body in blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            lines.append(line.split("#")[0].strip())
    return [line for line in lines if line]


def test_every_sparkvision_command_of_the_page_parses():
    commands = [shlex.split(line)[1:] for line in command_lines()
                if line.startswith("sparkvision ")]
    assert len(commands) >= 5, "the page lost its commands"
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        if "--mlflow" in argv:
            assert args.mlflow
        if "--register" in argv:
            assert args.register == argv[argv.index("--register") + 1]
    models = [a[a.index("--model") + 1] for a in commands if "--model" in a]
    assert {"models:/pets/1", "models:/pets@champion", "runs:/RUN_ID/model"} <= set(models)


def test_the_make_targets_of_the_page_exist():
    with open(os.path.join(ROOT, "mk", "mlflow.mk"), encoding="utf-8") as fh:
        defined = set(re.findall(r"^([\w-]+):", fh.read(), re.MULTILINE))
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as fh:
        assert "mk/mlflow.mk" in fh.read()
    named = {shlex.split(line)[1] for line in command_lines() if line.startswith("make ")}
    assert named == {"mlflow-up", "mlflow-down"} and named <= defined


@pytest.mark.parametrize("index", range(3))
def test_the_python_examples_compile(index):
    ast.parse(blocks("python")[index])
