"""Your own model on a real standalone cluster (executors in their own JVMs and work
directories): a model file shipped by broadcast, and a ``module:callable`` shipped with
``--py-files``, through the ``sparkvision`` command, as a user runs them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import byo_nets
from helpers.cli import run_cli
from helpers.drawing import write_images
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(1500)]

NETS = '''import torch
from torch import nn


def build():
    torch.manual_seed(5)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
'''


def run_on_cluster(args, *, cwd, cache):
    env = {
        # executors do not inherit the driver's environment: pass their cache explicitly
        "PYSPARK_SUBMIT_ARGS": f"--conf spark.executorEnv.SPARKVISION_CACHE={cache} "
                               "--conf spark.executor.memory=1g pyspark-shell",
        "PYTHONPATH": None,  # the executors get the model code only from the job itself
    }
    run = run_cli([*args, "--quiet"], cwd=cwd, env=env)
    assert run.rc == 0, run.stdout[-2000:] + run.stderr[-4000:]


def test_broadcast_file_and_py_files_callable_on_the_cluster(tmp_path, standalone_cluster):
    images = write_images(str(tmp_path / "photos"), [f"img.{i}.jpg" for i in range(6)])
    cache = tmp_path / "executor-cache"
    net = byo_nets.resnet_small()
    model = byo_nets.save_torchscript(net, str(tmp_path / "net.pt"), size=32)
    run_on_cluster(["classify", "photos", "--model", model, "--labels", "a,b,c",
                    "--image-size", "32", "--ship", "broadcast",
                    "--master", standalone_cluster.master_url, "--out", "preds"],
                   cwd=tmp_path, cache=cache)
    frame = pd.read_parquet(tmp_path / "preds").sort_values("path")
    assert len(frame) == len(images) and frame["error"].isna().all()
    spec = resolve_model(model, labels="a,b,c", image_size=32)
    local = predict_frame(sorted(images), spec, batch_size=8)
    np.testing.assert_allclose(np.stack(frame["scores"]), np.stack(local["scores"]), atol=1e-5)
    # the executors wrote the broadcast bytes into their own cache
    assert (cache / "models" / f"{spec.artifact_sha256}.pt").is_file()

    (tmp_path / "clusternets.py").write_text(NETS)
    run_on_cluster(["embed", "photos", "--model", "clusternets:build",
                    "--py-files", "clusternets.py", "--image-size", "32",
                    "--master", standalone_cluster.master_url, "--out", "vecs"],
                   cwd=tmp_path, cache=cache)
    vecs = pd.read_parquet(tmp_path / "vecs")
    assert len(vecs) == len(images) and vecs["error"].isna().all()
    namespace: dict = {}
    exec(NETS, namespace)  # the same function, built here to compare
    local = predict_frame(sorted(images), resolve_model(namespace["build"], task="embed",
                                                        image_size=32), batch_size=8)
    vecs = vecs.sort_values("path")
    np.testing.assert_allclose(np.stack(vecs["embedding"]), np.stack(local["embedding"]),
                               atol=1e-5)
