"""The linear head of ``sparkvision train``: the regularisation chosen by k-fold
cross-validation on the training rows (holdout and folds stratified by class, in the order
of a hash of the path), then one fit on all of them.

Up to :data:`DRIVER_ROWS` rows the features are collected and every fit runs on the driver
(:mod:`sparkvision.train.logistic`, numpy); beyond that, or with ``fit_on="spark"``, on Spark
MLlib, whose L-BFGS runs one Spark job per iteration. Both minimise the same objective."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkvision.errors import ConfigError

#: L2 regularisation strengths tried by cross-validation
REG_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
#: where the head is fitted: ``auto`` (the driver up to DRIVER_ROWS rows), ``driver``, ``spark``
FIT_ON: tuple[str, ...] = ("auto", "driver", "spark")
#: the most labelled rows ``auto`` fits on the driver: 50,000 rows of 1,280 features are
#: 490 MB as float64 there
DRIVER_ROWS = 50_000


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
    fitted_on: str = "driver"  # or "spark" (MLlib)


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
             max_iter: int, fit_on: str = "auto", rows: int | None = None) -> HeadFit:
    """Cross-validate the regularisation, then fit the head on all training rows: on the
    driver or on Spark MLlib (``fit_on``; ``auto`` goes by ``rows``, the labelled rows
    there are at most).

    The strength with the lowest out-of-fold log-loss wins (ties: the stronger). Accuracy
    alone ties on most small sets, and the strongest L2 among equals shrinks every score:
    on catdog-dev all four strengths label 99-100 % right out of fold, and the mean top score
    goes from 0.99 at 1e-3 to 0.88 at 1 while log-loss goes from 0.020 to 0.141. The lowest
    log-loss gives scores that mean what they say, which the report's "least confident" and
    any threshold on ``score`` rely on.
    """
    if fit_on not in FIT_ON:
        raise ConfigError(f"`fit_on` must be one of {', '.join(FIT_ON)}; found {fit_on!r}")
    split = _ml_frame(frame, classes, folds, holdout)
    if fit_on == "driver" or (fit_on == "auto" and rows is not None and rows <= DRIVER_ROWS):
        return _fit_on_driver(split, classes, folds, max_iter, held_out=bool(holdout))
    return _fit_on_spark(split, classes, folds, max_iter, held_out=bool(holdout))


def _fit_on_spark(split: Any, classes: list[str], folds: int, max_iter: int, *,
                  held_out: bool) -> HeadFit:
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    from sparkvision.runtime.session import default_parallelism

    # the split's windows leave spark.sql.shuffle.partitions partitions (200 on a Connect
    # server): every LBFGS iteration of every fit is a job over them, so the few rows (one
    # per image) go back to one partition per core first
    vectors = split.withColumn("features", array_to_vector(F.col("features")))
    data = vectors.coalesce(default_parallelism(split.sparkSession)).cache()
    try:
        train = data.where("not holdout")
        cv = {reg: _cross_validate(train, reg, folds, max_iter) for reg in REG_GRID}
        best = _best(cv)
        model = logistic_regression(best, max_iter).fit(train)
        _check_classes(model.numClasses, classes)
        fit = _head_fit(cv, best, classes, weights=model.coefficientMatrix.toArray(),
                        bias=model.interceptVector.toArray(), trained_on=train.count())
        fit.fitted_on = "spark"
        if held_out:
            fit.holdout_accuracy, fit.holdout_confusion = _measured(
                _scored(model.transform(data.where("holdout")))[0], classes)
        return fit
    finally:
        data.unpersist()


def _fit_on_driver(split: Any, classes: list[str], folds: int, max_iter: int, *,
                   held_out: bool) -> HeadFit:
    """Every fit on the driver: the split's rows are collected once (one Spark job)."""
    from sparkvision.train import logistic

    table = split.toPandas()
    x = np.stack(table["features"].to_numpy()).astype(np.float64) if len(table) else \
        np.zeros((0, 0))
    y = table["label"].to_numpy().astype(np.int64)
    fold = table["fold"].to_numpy()
    held = table["holdout"].to_numpy().astype(bool)
    x_train, y_train, fold = x[~held], y[~held], fold[~held]
    _check_classes(len(set(y_train.tolist())), classes)

    def scored(model: logistic.Logistic, rows: np.ndarray,
               truth: np.ndarray) -> tuple[list[tuple[int, int, int]], float]:
        p = model.probabilities(rows)
        loss = float(-np.log(np.maximum(p[np.arange(len(truth)), truth], 1e-15)).sum())
        pairs = Counter(zip(truth.tolist(), p.argmax(axis=1).tolist(), strict=True))
        return [(t, q, n) for (t, q), n in sorted(pairs.items())], loss

    def fit_on(where: np.ndarray, reg: float) -> logistic.Logistic:
        return logistic.fit(x_train[where], y_train[where], len(classes), reg=reg,
                            max_iter=max_iter)

    cv = {}
    for reg in REG_GRID:
        runs = [scored(fit_on(fold != k, reg), x_train[fold == k], y_train[fold == k])
                for k in range(folds)]
        cv[reg] = _pooled(runs)
    best = _best(cv)
    model = fit_on(np.ones(len(y_train), dtype=bool), best)
    fit = _head_fit(cv, best, classes, weights=model.weights, bias=model.bias,
                    trained_on=len(y_train))
    if held_out:
        fit.holdout_accuracy, fit.holdout_confusion = _measured(
            scored(model, x[held], y[held])[0], classes)
    return fit


def _best(cv: dict[float, tuple[list[tuple[int, int, int]], float]]) -> float:
    """The strength with the lowest out-of-fold log-loss; ties go to the stronger."""
    return min(REG_GRID, key=lambda r: (round(cv[r][1], 6), -r))


def _check_classes(found: int, classes: list[str]) -> None:
    if found != len(classes):
        raise ConfigError(
            f"the training rows hold {found} of the {len(classes)} classes "
            "(the others failed or went to the holdout); add images or lower `holdout`"
        )


def _head_fit(cv: dict[float, tuple[list[tuple[int, int, int]], float]], best: float,
              classes: list[str], *, weights: np.ndarray, bias: np.ndarray,
              trained_on: int) -> HeadFit:
    pairs, loss = cv[best]
    return HeadFit(
        weights=np.asarray(weights, dtype=np.float32), bias=np.asarray(bias, dtype=np.float32),
        reg=best, features=int(np.shape(weights)[1]), trained_on=trained_on,
        cv_accuracy=_accuracy(pairs), by_reg={f"{r:g}": _accuracy(cv[r][0]) for r in REG_GRID},
        cv_log_loss=loss, log_loss_by_reg={f"{r:g}": round(cv[r][1], 6) for r in REG_GRID},
        cv_confusion=_confusion(pairs, classes),
    )


def _measured(pairs: list[tuple[int, int, int]],
              classes: list[str]) -> tuple[float, dict[str, dict[str, int]]]:
    return _accuracy(pairs), _confusion(pairs, classes)


def _pooled(runs: list[tuple[list[tuple[int, int, int]], float]]
            ) -> tuple[list[tuple[int, int, int]], float]:
    """Out-of-fold pairs of every fold and their mean log-loss."""
    pairs = [pair for fold_pairs, _ in runs for pair in fold_pairs]
    total = sum(n for _, _, n in pairs)
    return pairs, sum(loss for _, loss in runs) / total if total else 0.0


def _ml_frame(frame: Any, classes: list[str], folds: int, holdout: float) -> Any:
    """``features`` (the embedding), ``label`` (class index), ``fold`` and ``holdout``, both
    stratified: each class gives ``round(holdout * its count)`` images to the holdout and
    deals the rest round-robin over the folds, in the order of a hash of the path, so a
    rerun on the same images splits the same way.

    A plain hash per row can leave a small class out of a fold's training rows (6 training
    photos of a class all fell into one of 3 folds: none of them could be predicted).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    index = F.create_map(*[F.lit(x) for i, c in enumerate(classes) for x in (c, float(i))])
    rows = frame.select(
        F.col("embedding").alias("features"),
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
    return _pooled([
        _scored(logistic_regression(reg, max_iter).fit(train.where(f"fold != {fold}"))
                .transform(train.where(f"fold = {fold}")))
        for fold in range(folds)])


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
