"""Spark's own ``pyspark.ml.functions.predict_batch_udf``, used as its documentation says.

``make_predict_fn`` runs once per Python worker (Spark caches the function it returns in
``pyspark.ml.model_cache.ModelCache`` under an id made on the driver, so the model is not
pickled into the closure); it opens the exported ONNX file in ONNX Runtime with one
thread per task. The input is the string column of paths, which ``predict_batch_udf``
passes as a numpy array of ``batch_size`` paths; images are decoded with PIL at full size
and preprocessed the usual way (:func:`sparkvision.bench.peers.torchvision_style`). The
return type is a struct, so the function returns a dict of columns.
"""

from __future__ import annotations

from sparkvision.bench.base import Runner, parquet_rows
from sparkvision.bench.peers import plain_session


class PredictBatchRunner(Runner):
    name = "predict_batch_udf"
    kind = "peer"

    def setup(self) -> None:
        from sparkvision.models.builtin.export import ensure_onnx

        ensure_onnx()
        self.spark = plain_session("predict-batch-udf", self.settings.cores)

    def run(self, paths: list[str], out: str) -> int:
        from pyspark.ml.functions import predict_batch_udf
        from pyspark.sql.types import FloatType, StringType, StructField, StructType

        def make_predict_fn():
            import numpy as np
            from PIL import Image

            from sparkvision.bench.peers import labels_and_scores, onnx_session, torchvision_style

            session = onnx_session(threads=1)
            name = session.get_inputs()[0].name

            def predict(batch: np.ndarray) -> dict:
                x = np.stack([torchvision_style(Image.open(p)) for p in batch])
                _, logits = session.run(None, {name: x})
                labels, scores = labels_and_scores(logits)
                return {"label": np.array(labels), "score": np.array(scores, dtype=np.float32)}

            return predict

        classify = predict_batch_udf(make_predict_fn, return_type=StructType([
            StructField("label", StringType()), StructField("score", FloatType())]),
                                     batch_size=self.settings.batch_size)
        df = self.spark.createDataFrame([(p,) for p in paths], "path string")
        df.withColumn("pred", classify("path")).select("path", "pred.*") \
            .write.mode("overwrite").parquet(out)
        return parquet_rows(out)

    def teardown(self) -> None:
        self.spark.stop()
