"""The duplicates view of a report: the largest groups of a ``dedup`` output, each side by
side, keeper first. Only ``max_groups`` groups (and at most
:data:`~.data.MAX_GROUP_MEMBERS` files of each) reach the driver and get thumbnails."""

from __future__ import annotations

from sparkvision.htmlreport.data import (
    MAX_GROUP_MEMBERS,
    DupGroup,
    DupMember,
    Failure,
    ReportData,
    Thumb,
)
from sparkvision.htmlreport.facts import fact_rows, report_title


def gather_dedup(spark, out: str, fmt: str, run: dict, *, max_groups: int, max_failed: int,
                 **_) -> ReportData:
    """The page data of the dedup output at ``out``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from sparkvision.dedup.job import read_failed
    from sparkvision.htmlreport.thumbs import spark_thumbnails
    from sparkvision.sinks.tables import read_table

    table = read_table(spark, out, fmt)
    sizes = table.groupBy("group").agg(F.count("*").alias("size"))
    top = sizes.orderBy(F.col("size").desc(), "group").limit(max_groups)
    order = Window.partitionBy("group").orderBy(F.col("keeper").desc(),
                                                 F.col("similarity").desc_nulls_last(), "path")
    rows = (table.join(F.broadcast(top), "group")
            .withColumn("_rank", F.row_number().over(order))
            .where(F.col("_rank") <= MAX_GROUP_MEMBERS).collect())
    made = spark_thumbnails(spark, [r["path"] for r in rows])
    groups: dict[int, DupGroup] = {}
    for r in sorted(rows, key=lambda r: (-r["size"], r["group"], r["_rank"])):
        image, problem = made.get(r["path"], (None, "not made"))
        member = DupMember(r["path"], bool(r["keeper"]), r["kind"], r["similarity"], r["reason"],
                           Thumb(r["path"], image=image, problem=problem))
        groups.setdefault(r["group"], DupGroup(r["group"], r["size"], [])).members.append(member)
    failed = read_failed(spark, out)
    kinds = {k or "unknown": n for k, n in failed.groupBy("error_kind").count().collect()}
    listed = failed.orderBy("path").limit(max_failed).collect()
    facts = [*fact_rows(run), ("threshold", f"cosine >= {run.get('threshold')}"),
                              ("groups", str(run.get("groups"))),
                              ("duplicates", f"{run.get('duplicates')} (exact {run.get('exact')}, "
                                             f"near {run.get('near')})")]
    return ReportData(
        title=report_title(out), facts=facts, groups=list(groups.values()),
        groups_total=sizes.count(), failures=[Failure(r["path"], r["error_kind"], r["error"])
                                              for r in listed],
        failed_total=sum(kinds.values()), failed_by_kind=kinds)
