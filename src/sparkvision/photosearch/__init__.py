"""Search by photo: the nearest neighbours of query photos in an ``embed`` output, exact,
on Spark (:mod:`.job`; the top-k in :mod:`.topk`)."""
