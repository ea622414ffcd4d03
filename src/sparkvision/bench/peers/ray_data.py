"""Ray Data, as its batch-inference guide recommends.

``ray.data.read_images`` reads and decodes the files (PIL, full size) in read tasks;
a ``map_batches`` function resizes and crops them (tasks); a class with the model is
given to ``map_batches`` with ``compute=ActorPoolStrategy(size=...)``, so Ray keeps a pool of
actors that
load the ONNX file once in ``__init__`` and predict in ``__call__(batch)``; the results
are written with ``write_parquet``. Ray gets every core of the machine (``num_cpus``).

On a machine with few cores, each actor reserves ``num_cpus`` of them for its whole life
while the read and preprocessing tasks need some too: with every core held by an actor,
nothing would be left to decode. The pool has one actor per two cores (at least one) with
:data:`ACTOR_CPUS` each; docs/benchmarks.md compares this with other pool sizes.
"""

from __future__ import annotations

from sparkvision.bench.base import Runner, parquet_rows

ACTOR_CPUS = 1.0


def actors(cores: int) -> tuple[int, float]:
    """Size of the model actor pool and CPUs per actor; ``SPARKVISION_BENCH_RAY_ACTORS``
    and ``SPARKVISION_BENCH_RAY_ACTOR_CPUS`` override them."""
    import os

    size = int(os.environ.get("SPARKVISION_BENCH_RAY_ACTORS") or max(1, cores // 2))
    return size, float(os.environ.get("SPARKVISION_BENCH_RAY_ACTOR_CPUS") or ACTOR_CPUS)


class RayRunner(Runner):
    name = "ray"
    kind = "peer"
    requires = ("ray",)

    def setup(self) -> None:
        import logging
        import os

        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        import ray

        from sparkvision.models.builtin.export import ensure_onnx

        ensure_onnx()
        ray.init(num_cpus=self.settings.cores, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=False)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        self.ray = ray

    def run(self, paths: list[str], out: str) -> int:
        import numpy as np
        from PIL import Image

        from sparkvision.bench.peers import labels_and_scores, onnx_session, torchvision_style

        def preprocess(batch: dict) -> dict:
            images = [torchvision_style(Image.fromarray(a)) for a in batch["image"]]
            return {"path": batch["path"], "image": np.stack(images)}

        class Classifier:
            def __init__(self) -> None:
                self.session = onnx_session(threads=1)
                self.input = self.session.get_inputs()[0].name

            def __call__(self, batch: dict) -> dict:
                _, logits = self.session.run(None, {self.input: batch["image"]})
                labels, scores = labels_and_scores(logits)
                return {"path": batch["path"], "label": np.array(labels),
                        "score": np.array(scores, dtype=np.float32)}

        ds = self.ray.data.read_images(paths, mode="RGB", include_paths=True)
        ds = ds.map_batches(preprocess, batch_format="numpy")
        size, cpus = actors(self.settings.cores)
        ds = ds.map_batches(Classifier, compute=self.ray.data.ActorPoolStrategy(size=size),
                            num_cpus=cpus, batch_size=self.settings.batch_size,
                            batch_format="numpy")
        ds.write_parquet(out)
        return parquet_rows(out)

    def teardown(self) -> None:
        self.ray.shutdown()
