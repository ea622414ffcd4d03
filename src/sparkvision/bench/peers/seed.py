"""The first seed system's scalar Pandas UDF, as it was written.

What it did, kept here on purpose (these are what the benchmark measures):

- the model object is created on the driver and captured by the UDF's closure, so it is
  pickled and shipped with every task and unpickled in the worker for every task;
- the UDF is a scalar Pandas UDF (``Series`` of paths in, ``DataFrame`` out) with Spark's
  default Arrow batch size;
- each image is decoded at full size with PIL and resized straight to the input size
  (as Keras' ``load_img(path, target_size=...)`` does, nearest neighbour by default);
- the model predicts two images at a time, in torch eager mode.

Differences: the network is EfficientNet-Lite0 (not the seed's small Keras CNN), so that
every runner computes the same thing, and torch gets one thread per task (the same as
every other runner) instead of its default of all cores per task; and every row is
written out instead of ``.show(1)``.
"""

from __future__ import annotations

import pandas as pd

from sparkvision.bench.base import Runner, parquet_rows
from sparkvision.bench.peers import plain_session


class SeedRunner(Runner):
    name = "seed"
    kind = "peer"
    engine = "torch"
    requires = ("torch",)

    def setup(self) -> None:
        from sparkvision.models.builtin.efficientnet import build_torch_module

        self.spark = plain_session("seed-pandas-udf", self.settings.cores)
        self.model = build_torch_module()

    def run(self, paths: list[str], out: str) -> int:
        import numpy as np
        from pyspark.sql.functions import pandas_udf

        from sparkvision.bench.peers import labels_and_scores

        model = self.model  # captured by the closure below, shipped with every task

        # pyspark's stubs have no overload for the type-hint form (no functionType)
        @pandas_udf("label string, score float")  # type: ignore[call-overload]
        def predict(path: pd.Series) -> pd.DataFrame:
            import torch
            from PIL import Image

            torch.set_num_threads(1)
            images = []
            for p in path:
                img = Image.open(p).convert("RGB").resize((224, 224), Image.Resampling.NEAREST)
                images.append((np.asarray(img, dtype=np.float32) - 127.0) / 128.0)
            x = torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy())
            logits = []
            with torch.no_grad():
                for i in range(0, len(x), 2):
                    logits.append(model(x[i : i + 2])[1].numpy())
            labels, scores = labels_and_scores(np.concatenate(logits))
            return pd.DataFrame({"label": labels, "score": scores})

        df = self.spark.createDataFrame([(p,) for p in paths], "path string")
        df.withColumn("pred", predict("path")).select("path", "pred.*") \
            .write.mode("overwrite").parquet(out)
        return parquet_rows(out)

    def teardown(self) -> None:
        self.spark.stop()
