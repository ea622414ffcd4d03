"""Duplicate and near-duplicate photos: content hashes, embedding LSH on Spark, groups."""
