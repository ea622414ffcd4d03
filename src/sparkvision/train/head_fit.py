"""The linear head of ``sparkvision train``, fitted with Spark MLlib: the regularisation
chosen by k-fold cross-validation on the training rows (holdout and folds stratified by
class, in the order of a hash of the path), then one fit on all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkvision.errors import ConfigError

#: L2 regularisation strengths tried by cross-validation
REG_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)


@dataclass
class HeadFit:
    weights: np.ndarray
    bias: np.ndarray
    reg: float
    features: int
    trained_on: int
    cv_accuracy: float
    cv_log_loss: float
    by_reg: dict[str, float]
    log_loss_by_reg: dict[str, float]
    cv_confusion: dict[str, dict[str, int]]
    holdout_accuracy: float | None = None
    holdout_confusion: dict[str, dict[str, int]] | None = None


def logistic_regression(reg: float, max_iter: int) -> Any:
    """The head's estimator: multinomial, L2 of strength ``reg``, no standardisation.

    The embeddings are pooled activations on one common scale. Standardising them divides
    each feature by its spread in the training photos, which lifts features that barely vary
    there (noise) to the weight of the informative ones: on drawn patterns, 7 training
    photos per class, a head fitted with it sorted 87 % of new photos, without it 99 %
    (the same on real cat/dog photos: 99.7 % either way).
    """
    from pyspark.ml.classification import LogisticRegression

    return LogisticRegression(family="multinomial", regParam=reg, elasticNetParam=0.0,
                              standardization=False, maxIter=max_iter)


def fit_head(frame: Any, classes: list[str], *, folds: int, holdout: float,
             max_iter: int) -> HeadFit:
    """Cross-validate the regularisation, then fit the head on all training rows.

    The strength with the lowest out-of-fold log-loss wins (ties: the stronger). Accuracy
    alone ties on most small sets, and the strongest L2 among equals shrinks every score:
    on catdog-dev all four strengths label 99-100 % right out of fold, and the mean top score
    goes from 0.99 at 1e-3 to 0.88 at 1 while log-loss goes from 0.020 to 0.141. The lowest
    log-loss gives scores that mean what they say, which the report's "least confident" and
    any threshold on ``score`` rely on.
    """
    from sparkvision.runtime.session import default_parallelism

    # the split's windows leave spark.sql.shuffle.partitions partitions (200 on a Connect
    # server): every LBFGS iteration of every fit is a job over them, so the few rows (one
    # per image) go back to one partition per core first
    split = _ml_frame(frame, classes, folds, holdout)
    data = split.coalesce(default_parallelism(frame.sparkSession)).cache()
    try:
        train = data.where("not holdout")
        scores, losses, oof = {}, {}, {}
        for reg in REG_GRID:
            pairs, losses[reg] = _cross_validate(train, reg, folds, max_iter)
            scores[reg], oof[reg] = _accuracy(pairs), pairs
        best = min(REG_GRID, key=lambda r: (round(losses[r], 6), -r))
        model = logistic_regression(best, max_iter).fit(train)
        if model.numClasses != len(classes):
            raise ConfigError(
                f"the training rows hold {model.numClasses} of the {len(classes)} classes "
                "(the others failed or went to the holdout); add images or lower `holdout`"
            )
        fit = HeadFit(
            weights=model.coefficientMatrix.toArray().astype(np.float32),
            bias=model.interceptVector.toArray().astype(np.float32), reg=best,
            features=int(model.numFeatures), trained_on=train.count(),
            cv_accuracy=scores[best], by_reg={f"{r:g}": scores[r] for r in REG_GRID},
            cv_log_loss=losses[best],
            log_loss_by_reg={f"{r:g}": round(losses[r], 6) for r in REG_GRID},
            cv_confusion=_confusion(oof[best], classes),
        )
        if holdout:
            held, _ = _scored(model.transform(data.where("holdout")))
            fit.holdout_accuracy = _accuracy(held)
            fit.holdout_confusion = _confusion(held, classes)
        return fit
    finally:
        data.unpersist()


def _ml_frame(frame: Any, classes: list[str], folds: int, holdout: float) -> Any:
    """``features`` (an ML vector), ``label`` (class index), ``fold`` and ``holdout``, both
    stratified: each class gives ``round(holdout * its count)`` images to the holdout and
    deals the rest round-robin over the folds, in the order of a hash of the path, so a
    rerun on the same images splits the same way.

    A plain hash per row can leave a small class out of a fold's training rows (6 training
    photos of a class all fell into one of 3 folds: none of them could be predicted).
    """
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    index = F.create_map(*[F.lit(x) for i, c in enumerate(classes) for x in (c, float(i))])
    rows = frame.select(
        array_to_vector(F.col("embedding")).alias("features"),
        index[F.col("label_true")].alias("label"), "path",
        F.xxhash64(F.lit("holdout"), "path").alias("_held_order"),
        F.xxhash64("path").alias("_fold_order"),
    )
    by_class = Window.partitionBy("label")
    held_rank = F.row_number().over(by_class.orderBy("_held_order", "path")) - 1
    rows = rows.withColumn(
        "holdout", held_rank < F.round(F.count(F.lit(1)).over(by_class) * F.lit(holdout)))
    fold_rank = F.row_number().over(
        Window.partitionBy("label", "holdout").orderBy("_fold_order", "path")) - 1
    return rows.select("features", "label", (fold_rank % folds).alias("fold"), "holdout")


def _cross_validate(train: Any, reg: float, folds: int,
                    max_iter: int) -> tuple[list[tuple[int, int, int]], float]:
    """Out-of-fold ``(true, predicted, count)`` and mean log-loss (natural log) for one
    regularisation strength."""
    pairs: list[tuple[int, int, int]] = []
    loss = 0.0
    for fold in range(folds):
        fitted = logistic_regression(reg, max_iter).fit(train.where(f"fold != {fold}"))
        fold_pairs, fold_loss = _scored(fitted.transform(train.where(f"fold = {fold}")))
        pairs += fold_pairs
        loss += fold_loss
    total = sum(n for _, _, n in pairs)
    return pairs, loss / total if total else 0.0


def _scored(predicted: Any) -> tuple[list[tuple[int, int, int]], float]:
    """``(true, predicted, count)`` and the sum over rows of -log(the probability given to
    the true class, floored at 1e-15), in one job."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    p_true = vector_to_array(F.col("probability"))[F.col("label").cast("int")]
    rows = (predicted.groupBy("label", "prediction")
            .agg(F.count(F.lit(1)).alias("n"),
                 F.sum(-F.log(F.greatest(p_true, F.lit(1e-15)))).alias("loss"))
            .collect())
    pairs = [(int(r["label"]), int(r["prediction"]), int(r["n"])) for r in rows]
    return pairs, float(sum(r["loss"] or 0.0 for r in rows))


def _accuracy(pairs: list[tuple[int, int, int]]) -> float:
    total = sum(n for _, _, n in pairs)
    return sum(n for t, p, n in pairs if t == p) / total if total else 0.0


def _confusion(pairs: list[tuple[int, int, int]], classes: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {c: {} for c in classes}
    for t, p, n in pairs:
        row = out[classes[t]]
        row[classes[p]] = row.get(classes[p], 0) + n
    return out
