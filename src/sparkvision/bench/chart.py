"""The bench's chart: ``bench.png`` of a results table."""

from __future__ import annotations


def plot(rows: list[dict], path: str, order: list[str]) -> None:
    """Seconds and images/s against the number of images, one line per runner of
    ``order``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for mode in order:
        points = sorted((r["n_images"], r["seconds"], r["images_per_s"]) for r in rows
                        if r["mode"] == mode and r["status"] in ("ok", "derived"))
        if not points:
            continue
        kind = next(r["kind"] for r in rows if r["mode"] == mode)
        style = {"mode": "-", "peer": "--", "ceiling": ":"}.get(kind, "-")
        ns, secs, rates = zip(*points, strict=True)
        left.plot(ns, secs, style, marker="o", label=mode)
        right.plot(ns, rates, style, marker="o", label=mode)
    left.set(xlabel="images", ylabel="seconds (lower is better)", title="Time to label N images")
    right.set(xlabel="images", ylabel="images / s (higher is better)", title="Throughput")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
