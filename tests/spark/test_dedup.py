"""dedup on the shared Spark session: components, LSH pairs, and whole runs measured
against a generated near-duplicate set (precision and recall at the default threshold)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.badfiles import make_bad_inputs
from helpers.cli import run_cli
from helpers.photos import write_photos
from sparkvision.dedup.components import connected_components
from sparkvision.dedup.defaults import DEFAULT_THRESHOLD
from sparkvision.dedup.evaluate import read_truth, score_pairs
from sparkvision.dedup.lsh import near_pairs
from sparkvision.dedup.nearset import TRUTH, make_near_duplicate_set

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]


def test_components_settle_in_few_rounds(spark):
    chain = [(i, i + 1) for i in range(100, 163)]  # a path of 64 vertices
    pairs = [(1, 2), (3, 2), (7, 8), (8, 9), (9, 7), *chain]
    edges = spark.createDataFrame(pairs, "src long, dst long")
    frame, rounds = connected_components(edges)
    got = {r["id"]: r["component"] for r in frame.collect()}
    assert got == {**{1: 1, 2: 1, 3: 1, 7: 7, 8: 7, 9: 7}, **{i: 100 for i in range(100, 164)}}
    assert rounds <= 9  # log2(64) + 3; plain propagation would need 63
    _, rounds = connected_components(spark.createDataFrame(pairs[:5], "src long, dst long"))
    assert rounds <= 3


def _planted(n_far: int, n_near: int, dim: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_far, dim))
    near = base[:n_near] + rng.normal(scale=0.12, size=(n_near, dim))
    x = np.vstack([base, near])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["banded", "mllib"])
def test_lsh_pairs_are_the_true_pairs(spark, method):
    x = _planted(300, 40, 64)
    frame = spark.createDataFrame([(i, [float(v) for v in row]) for i, row in enumerate(x)],
                                  "id long, e array<float>")
    found = {(r["a"], r["b"]): r["similarity"] for r in
             near_pairs(frame, 0.9, dim=64, method=method).collect()}
    sims = x @ x.T
    truth = {(i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if sims[i, j] >= 0.9}
    assert len(truth) == 40 and set(found) == truth
    assert all(abs(found[p] - sims[p]) < 1e-4 for p in found)


@pytest.fixture(scope="module")
def near_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("nearset")
    make_near_duplicate_set(write_photos(str(root / "photos")), str(root / "set"))
    return str(root / "set")


def test_precision_and_recall_at_the_default_threshold(spark, near_set, tmp_path):
    vectors, groups = str(tmp_path / "vectors.parquet"), str(tmp_path / "groups.parquet")
    assert run_cli(["embed", near_set, "--out", vectors, "--execution", "python", "--quiet"],
                   in_process=True).rc == 0
    report = str(tmp_path / "dups.html")
    result = run_cli(["dedup", "--vectors", vectors, "--out", groups, "--report", report],
                     in_process=True)
    assert result.rc == 0, result.output
    printed = result.stdout
    assert "0 computed" in printed  # every vector came from the embed output
    table = pd.read_parquet(groups)
    truth = read_truth(os.path.join(near_set, TRUTH))
    score = score_pairs(zip(table["path"], table["group"], strict=True), truth)
    print(f"dedup at cosine >= {DEFAULT_THRESHOLD}: {score}")
    assert score.precision >= 0.95 and score.recall >= 0.9
    assert list(table.columns) == ["path", "group", "kind", "keeper", "similarity", "reason"]
    assert (table.groupby("group")["keeper"].sum() == 1).all()
    keepers = table[table["keeper"]].set_index("group")["path"]
    vec = {p: np.asarray(e) / np.linalg.norm(e) for p, e in
           pd.read_parquet(vectors, columns=["path", "embedding"]).itertuples(index=False)}
    table["bytes"] = [Path(p).read_bytes() for p in table["path"]]
    for _, members in table.groupby(["group", "bytes"]):
        # of the files with the same bytes, one stands for them (keeper or near), the rest are exact
        others = members[~members["keeper"]]
        stand_ins = 0 if members["keeper"].any() else 1
        assert (others["kind"] != "exact").sum() == stand_ins
    assert (table["kind"] == "exact").sum() >= 13  # every family holds a byte copy
    for _, row in table[~table["keeper"]].iterrows():
        keeper = keepers[row["group"]]
        same = row["bytes"] == Path(keeper).read_bytes()
        cosine = 1.0 if same else float(vec[row["path"]] @ vec[keeper])
        assert abs(row["similarity"] - cosine) < 1e-4  # to the keeper, not to a neighbour
    html = Path(report).read_text(encoding="utf-8")
    assert html.count('class="group"') == table["group"].nunique()


def test_dedup_embeds_moves_and_never_loses_a_file(spark, tmp_path):
    photos = tmp_path / "photos"
    make_near_duplicate_set(write_photos(str(tmp_path / "src"), ["coffee", "rocket"]),
                            str(photos))
    os.unlink(photos / TRUTH)
    bad = make_bad_inputs(str(tmp_path / "bad"))
    for name in ("empty.jpg", "notes.jpg"):
        shutil.copy(bad[name], photos / name)
    before = sorted(os.listdir(photos))
    groups, target = str(tmp_path / "g.json"), str(tmp_path / "dups")
    argv = ["dedup", str(photos), "--out", groups, "--move-duplicates-to", target]
    dry = run_cli([*argv, "--dry-run"], in_process=True)
    assert dry.rc == 0, dry.output
    assert "would move" in dry.stdout and sorted(os.listdir(photos)) == before
    assert run_cli([*argv, "--overwrite"], in_process=True).rc == 0
    table = spark.read.json(groups).toPandas()
    failed = spark.read.json(os.path.join(groups, "_failed")).toPandas()
    assert sorted(failed["error_kind"]) == ["empty", "not_an_image"]
    movers = table[~table["keeper"]]
    manifest = pd.read_csv(os.path.join(target, "_manifest.csv"))
    assert sorted(manifest["source"]) == sorted(movers["path"])
    assert set(manifest["action"]) == {"moved"}
    moved = [os.path.basename(p) for p in manifest["destination"]]
    assert sorted(os.listdir(photos) + moved) == before  # moved, never deleted
    assert all(os.path.isfile(p) for p in table[table["keeper"]]["path"])
