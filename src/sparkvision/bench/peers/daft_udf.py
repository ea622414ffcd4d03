"""Daft, as its documentation recommends for model inference over images.

Daft downloads the files (``download``), decodes them and resizes them with its
own native image functions (multi-threaded, outside Python), and runs the model in a
class UDF (``@daft.cls``): ``__init__`` opens the ONNX file once per instance, a batch
method gets a Series of images. Daft's ``resize`` takes a width and a height, so images
go straight to 224x224 (no aspect-preserving crop, as in Daft's own examples). Instances
are limited to one per core, each with one ONNX Runtime thread.
"""

from __future__ import annotations

from sparkvision.bench.base import Runner, parquet_rows


class DaftRunner(Runner):
    name = "daft"
    kind = "peer"
    requires = ("daft",)

    def setup(self) -> None:
        import os

        os.environ.setdefault("DAFT_PROGRESS_BAR", "0")
        import daft

        from sparkvision.models.builtin.export import ensure_onnx

        ensure_onnx()
        self.daft = daft

    def run(self, paths: list[str], out: str) -> int:
        import numpy as np
        import pyarrow as pa

        daft = self.daft
        from daft import DataType, col
        from daft.functions import decode_image, download, resize

        from sparkvision.bench.peers import labels_and_scores, normalise, onnx_session

        @daft.cls(max_concurrency=self.settings.cores, cpus=1)
        class Classifier:
            def __init__(self) -> None:
                self.session = onnx_session(threads=1)
                self.input = self.session.get_inputs()[0].name

            @daft.method.batch(return_dtype=DataType.struct(
                {"label": DataType.string(), "score": DataType.float32()}),
                batch_size=self.settings.batch_size)
            def __call__(self, images):
                x = np.stack([normalise(np.asarray(a)) for a in images.to_pylist()])
                _, logits = self.session.run(None, {self.input: x})
                labels, scores = labels_and_scores(logits)
                return pa.StructArray.from_arrays(
                    [pa.array(labels, pa.string()), pa.array(scores, pa.float32())],
                    names=["label", "score"])

        classify = Classifier()
        df = daft.from_pydict({"path": paths})
        df = df.with_column("image", resize(decode_image(download(col("path")), mode="RGB"),
                                            224, 224))
        df = df.with_column("pred", classify(col("image")))
        df = df.select(col("path"), col("pred")["label"].alias("label"),
                       col("pred")["score"].alias("score"))
        df.write_parquet(out)
        return parquet_rows(out)
