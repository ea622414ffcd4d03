"""Connected components of an edge list, on Spark, with DataFrame joins only.

Every vertex starts as its own component label. Each round does two things:

1. *min-label propagation*: a vertex takes the smallest label among itself and its
   neighbours;
2. *pointer jumping*: a vertex takes the label of the vertex its label names (the label of
   the label), so a chain of labels shortens by half each round.

Labels only ever decrease and every label is a vertex of the same component, so when a
round changes nothing each component holds one label: its smallest vertex id. A group of
near-duplicates (diameter 1 or 2) settles in two or three rounds; a path of ``n`` vertices
in about ``log2(n) + 2``. Each round's labels are cut from their lineage
(``localCheckpoint``), so round ``k`` does not recompute rounds ``1..k-1``.
"""

from __future__ import annotations

#: Rounds after which a graph is reported as not converging (never reached in practice:
#: pointer jumping needs about log2 of the longest path).
MAX_ROUNDS = 64


def connected_components(edges, *, src: str = "src", dst: str = "dst"):
    """``(id, component)`` for every vertex of ``edges`` (a DataFrame of two long
    columns); ``component`` is the smallest id in the vertex's component.

    Returns ``(frame, rounds)``.
    """
    from pyspark.sql import functions as F

    both = (edges.select(F.col(src).alias("a"), F.col(dst).alias("b"))
            .union(edges.select(F.col(dst).alias("a"), F.col(src).alias("b")))
            .where(F.col("a") != F.col("b")).distinct())
    both = materialise(both)
    labels = materialise(
        both.select(F.col("a").alias("id")).distinct().withColumn("c", F.col("id")))
    total = _label_sum(labels)
    for rounds in range(1, MAX_ROUNDS + 1):
        # Lazy: the sum below is the one job that computes and keeps the new labels.
        labels = materialise(_jump(_propagate(labels, both)), eager=False)
        # Labels never grow, so an unchanged sum means no label changed.
        before, total = total, _label_sum(labels)
        if total == before:
            return labels.withColumnRenamed("c", "component"), rounds
    raise RuntimeError(
        f"connected components did not settle within {MAX_ROUNDS} rounds; this is a bug, "
        "please report it with the size of the input"
    )


def _label_sum(labels) -> int:
    from pyspark.sql import functions as F

    return labels.agg(F.sum(F.col("c").cast("decimal(38,0)"))).first()[0] or 0


def _propagate(labels, both):
    """Each vertex's label becomes the smallest of its own and its neighbours'."""
    from pyspark.sql import functions as F

    offered = (both.join(labels.withColumnRenamed("id", "a"), "a")
               .groupBy(F.col("b").alias("id")).agg(F.min("c").alias("m")))
    return (labels.join(offered, "id", "left")
            .select("id", F.least(F.col("c"), F.coalesce(F.col("m"), F.col("c"))).alias("c")))


def _jump(labels):
    """Each vertex's label becomes its label's label (never larger: labels only drop)."""
    from pyspark.sql import functions as F

    parent = labels.select(F.col("id").alias("c"), F.col("c").alias("cc"))
    return (labels.join(parent, "c", "left")
            .select("id", F.least(F.col("c"), F.coalesce(F.col("cc"), F.col("c"))).alias("c")))


def materialise(frame, *, eager: bool = True):
    """Compute ``frame`` once and cut its lineage (where the session allows it), so later
    rounds, and later stages, never recompute it. ``eager=False``: by the next job that
    reads it."""
    try:
        return frame.localCheckpoint(eager=eager)
    except Exception:  # noqa: BLE001 - a session without checkpoints: cache instead
        frame = frame.cache()
        if eager:
            frame.count()
        return frame
