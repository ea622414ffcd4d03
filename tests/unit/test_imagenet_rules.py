"""The ImageNet class list and the cat/dog/other rule, on synthetic probability vectors."""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pytest

import sparkvision.models.builtin.imagenet as imagenet
from sparkvision.models.builtin.imagenet import (
    CAT_CLASSES,
    DOG_CLASSES,
    IMAGENET_CLASSES,
    OTHER_THRESHOLD,
    catdog,
    softmax,
    topk,
)

LYNX, TABBY, EGYPTIAN_CAT, COUGAR = 287, 281, 285, 286
CHIHUAHUA, GOLDEN, HUSKY, WHITE_WOLF = 151, 207, 250, 270
GREY_FOX, HYENA, ANGORA, TOILET_TISSUE = 280, 276, 332, 999


def one_hot(*pairs: tuple[int, float], rest: float | None = None) -> np.ndarray:
    """A (1000,) probability vector with the given mass on given classes.

    Whatever mass is left is spread evenly over every class not named (or ``rest`` total).
    """
    p = np.zeros(1000, dtype=np.float64)
    for i, v in pairs:
        p[i] += v
    left = 1.0 - p.sum() if rest is None else rest
    others = np.setdiff1d(np.arange(1000), [i for i, _ in pairs])
    p[others] += left / len(others)
    return p.astype(np.float32)


# -- class names ----------------------------------------------------------------------------


def test_thousand_names_in_index_order():
    assert len(IMAGENET_CLASSES) == 1000
    assert all(isinstance(n, str) and n and n == n.strip() for n in IMAGENET_CLASSES)
    assert IMAGENET_CLASSES[0] == "tench"
    assert IMAGENET_CLASSES[151] == "Chihuahua"
    assert IMAGENET_CLASSES[281] == "tabby"
    assert IMAGENET_CLASSES[285] == "Egyptian cat"
    assert IMAGENET_CLASSES[287] == "lynx"
    assert IMAGENET_CLASSES[999] == "toilet tissue"


def test_class_sets_are_disjoint_sorted_and_in_range():
    assert set(CAT_CLASSES).isdisjoint(DOG_CLASSES)
    for group in (CAT_CLASSES, DOG_CLASSES):
        assert list(group) == sorted(set(group))
        assert all(0 <= i < 1000 for i in group)
    assert set(range(281, 294)) <= set(CAT_CLASSES)  # domestic cats and wild cats
    assert set(range(151, 269)) <= set(DOG_CLASSES)  # every dog breed
    assert GREY_FOX not in DOG_CLASSES and GREY_FOX not in CAT_CLASSES
    assert HYENA not in DOG_CLASSES and HYENA not in CAT_CLASSES


def test_every_listed_class_is_named_in_its_comment():
    """Each index in the source carries a comment that names the ImageNet class."""
    src = inspect.getsource(imagenet)
    for const in ("CAT_CLASSES", "DOG_CLASSES"):
        block = src.split(f"{const}: tuple[int, ...] = (", 1)[1].split("\n)", 1)[0]
        entries = re.findall(r"^\s*(\d+),\s*#\s*(.+?)\s*$", block, flags=re.M)
        assert [int(i) for i, _ in entries] == list(getattr(imagenet, const))
        for i, name in entries:
            assert name == IMAGENET_CLASSES[int(i)], (i, name)


def test_module_does_not_import_torch():
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(imagenet))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "numpy" in imported
    assert "torch" not in imported


# -- softmax ----------------------------------------------------------------------------------


def test_softmax_rows_sum_to_one_float32():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4, 1000))
    p = softmax(logits)
    assert p.shape == (4, 1000) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(p.argmax(1), logits.argmax(1))


def test_softmax_is_stable_for_huge_logits_and_shift_invariant():
    logits = np.zeros((2, 1000), dtype=np.float32)
    logits[0, 3] = 1e4
    logits[1] = logits[0] - 5e4
    p = softmax(logits)
    assert np.isfinite(p).all()
    assert p[0, 3] == pytest.approx(1.0)
    np.testing.assert_allclose(p[0], p[1], atol=1e-7)


def test_softmax_uniform_logits_give_uniform_probs():
    p = softmax(np.full((1, 1000), 7.0))
    np.testing.assert_allclose(p, 1e-3, rtol=1e-5)


def test_softmax_rejects_wrong_width():
    with pytest.raises(ValueError):
        softmax(np.zeros((2, 10)))


# -- catdog -----------------------------------------------------------------------------------


def test_mass_on_lynx_is_a_cat():
    labels, scores = catdog(one_hot((LYNX, 0.7))[None])
    assert labels == ["cat"]
    assert scores.dtype == np.float32 and scores.shape == (1,)
    assert scores[0] >= 0.7


def test_mass_spread_over_many_breeds_is_a_dog_even_if_no_breed_is_high():
    p = np.zeros(1000, dtype=np.float32)
    breeds = list(range(151, 211))  # 60 breeds
    p[breeds] = 0.8 / len(breeds)  # about 0.013 each
    p[900:1000] = 0.2 / 100
    assert p.max() < 0.05
    labels, scores = catdog(p[None])
    assert labels == ["dog"]
    assert scores[0] == pytest.approx(0.8, abs=1e-5)


def test_wolf_counts_as_dog_and_fox_does_not():
    wolfish = one_hot((WHITE_WOLF, 0.3), (HUSKY, 0.3))
    labels, _ = catdog(np.stack([wolfish, one_hot((GREY_FOX, 0.9))]))
    assert labels == ["dog", "other"]


def test_flat_distribution_is_other_with_high_score():
    labels, scores = catdog(np.full((1, 1000), 1e-3, dtype=np.float32))
    assert labels == ["other"]
    expected = 1.0 - 1e-3 * (len(CAT_CLASSES) + len(DOG_CLASSES))
    assert scores[0] == pytest.approx(expected, abs=1e-5)


def test_non_animal_class_is_other():
    labels, scores = catdog(one_hot((TOILET_TISSUE, 0.95))[None])
    assert labels == ["other"] and scores[0] > 0.95


def exact(*pairs: tuple[int, float]) -> np.ndarray:
    """A (1000,) vector with exactly the given mass on the given classes and 0 elsewhere."""
    p = np.zeros(1000, dtype=np.float32)
    for i, v in pairs:
        p[i] += v
    return p


def test_larger_sum_wins_even_when_both_are_below_half():
    probs = np.stack(
        [
            exact((EGYPTIAN_CAT, 0.4), (GOLDEN, 0.35), (TOILET_TISSUE, 0.25)),
            exact((TABBY, 0.3), (HUSKY, 0.25), (TOILET_TISSUE, 0.45)),
            exact((LYNX, 0.25), (CHIHUAHUA, 0.3), (TOILET_TISSUE, 0.45)),
            exact((TABBY, 0.21), (TOILET_TISSUE, 0.79)),
        ]
    )
    labels, scores = catdog(probs)
    assert labels == ["cat", "cat", "dog", "cat"]
    np.testing.assert_allclose(scores, [0.4, 0.3, 0.3, 0.21], atol=1e-6)


def test_little_cat_or_dog_evidence_is_other():
    """Both sums below the threshold: other, scored by the mass on neither group."""
    p = exact((TABBY, 0.12), (GOLDEN, 0.15), (TOILET_TISSUE, 0.73))
    labels, scores = catdog(p[None])
    assert labels == ["other"]
    assert scores[0] == pytest.approx(0.73, abs=1e-6)


def test_threshold_is_inclusive_and_adjustable():
    at = exact((TABBY, OTHER_THRESHOLD), (TOILET_TISSUE, 1 - OTHER_THRESHOLD))
    below = exact((GOLDEN, OTHER_THRESHOLD - 0.01), (TOILET_TISSUE, 1.01 - OTHER_THRESHOLD))
    assert catdog(np.stack([at, below]))[0] == ["cat", "other"]
    p = one_hot((TABBY, 0.3), (COUGAR, 0.2))  # p_cat just over 0.5 with the spread mass
    p_cat = float(p[list(CAT_CLASSES)].sum())
    assert catdog(p[None], threshold=p_cat)[0] == ["cat"]
    assert catdog(p[None], threshold=min(1.0, p_cat + 1e-3))[0] == ["other"]
    assert catdog(one_hot((TABBY, 0.35))[None])[0] == ["cat"]
    assert catdog(one_hot((TABBY, 0.35))[None], threshold=0.5)[0] == ["other"]


def test_split_between_cat_and_dog_is_other_with_small_score_at_a_majority_threshold():
    """With threshold 0.5, 0.4 cat + 0.35 dog is other; only 0.25 is on neither group."""
    p = exact((EGYPTIAN_CAT, 0.4), (GOLDEN, 0.35), (TOILET_TISSUE, 0.25))
    labels, scores = catdog(p[None], threshold=0.5)
    assert labels == ["other"]
    assert scores[0] == pytest.approx(0.25, abs=1e-6)


def test_ties_go_to_cat_whatever_the_batch():
    tie = exact((TABBY, 0.25), (GOLDEN, 0.25), (TOILET_TISSUE, 0.5))
    weak_tie = exact((TABBY, 0.1), (GOLDEN, 0.1), (TOILET_TISSUE, 0.8))
    dog = exact((GOLDEN, 0.9), (TOILET_TISSUE, 0.1))
    alone = catdog(tie[None])
    assert alone[0] == ["cat"] and alone[1][0] == pytest.approx(0.25)
    labels, scores = catdog(np.stack([dog, tie, weak_tie, tie]))
    assert labels == ["dog", "cat", "other", "cat"]
    np.testing.assert_allclose(scores, [0.9, 0.25, 0.8, 0.25], atol=1e-6)


def test_score_is_the_probability_of_the_reported_answer():
    rng = np.random.default_rng(3)
    probs = softmax(rng.normal(scale=2.5, size=(300, 1000)))
    boost = rng.uniform(0.0, 6.0, size=(300, 1))  # spread rows over cat, dog and other
    probs[:, list(CAT_CLASSES)] *= boost
    probs[:, list(DOG_CLASSES)] *= rng.uniform(0.0, 3.0, size=(300, 1))
    probs /= probs.sum(1, keepdims=True)
    labels, scores = catdog(probs)
    p_cat = probs[:, list(CAT_CLASSES)].astype(np.float64).sum(1)
    p_dog = probs[:, list(DOG_CLASSES)].astype(np.float64).sum(1)
    assert {"cat", "dog", "other"} <= set(labels)
    for lab, s, c, d in zip(labels, scores, p_cat, p_dog, strict=True):
        if lab == "other":
            assert max(c, d) < OTHER_THRESHOLD
            assert s == pytest.approx(1 - c - d, abs=1e-5)
        else:
            assert max(c, d) >= OTHER_THRESHOLD
            assert (lab == "cat") == (c >= d)
            assert s == pytest.approx(c if lab == "cat" else d, abs=1e-5)


def test_default_threshold():
    # Above the dog group's share of a flat softmax (125 / 1000), below a weak pet photo.
    assert 125 / 1000 < OTHER_THRESHOLD < 0.5
    assert catdog.__defaults__ == (OTHER_THRESHOLD,)


def test_batch_of_mixed_rows_and_score_is_the_winning_sum():
    probs = np.stack(
        [
            one_hot((TABBY, 0.5), (EGYPTIAN_CAT, 0.3)),
            one_hot((CHIHUAHUA, 0.9)),
            one_hot((ANGORA, 0.9)),
        ]
    )
    labels, scores = catdog(probs)
    assert labels == ["cat", "dog", "other"]
    p_cat = probs[:, list(CAT_CLASSES)].sum(1)
    p_dog = probs[:, list(DOG_CLASSES)].sum(1)
    np.testing.assert_allclose(scores, [p_cat[0], p_dog[1], 1 - p_cat[2] - p_dog[2]], rtol=1e-5)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_empty_batch():
    labels, scores = catdog(np.zeros((0, 1000), dtype=np.float32))
    assert labels == [] and scores.shape == (0,) and scores.dtype == np.float32


def test_catdog_rejects_bad_input():
    with pytest.raises(ValueError):
        catdog(np.zeros((1, 999)))
    with pytest.raises(ValueError):
        catdog(np.zeros((1, 1000)), threshold=1.5)


# -- topk -------------------------------------------------------------------------------------


def test_topk_names_and_probs_sorted_descending():
    p = one_hot((LYNX, 0.5), (TABBY, 0.2), (CHIHUAHUA, 0.1), (0, 0.05), (TOILET_TISSUE, 0.04))
    names, top = topk(p[None], 5)
    assert names == [["lynx", "tabby", "Chihuahua", "tench", "toilet tissue"]]
    assert top.shape == (1, 5) and top.dtype == np.float32
    assert list(top[0]) == sorted(top[0], reverse=True)
    np.testing.assert_allclose(top[0], [0.5, 0.2, 0.1, 0.05, 0.04], atol=1e-4)


def test_topk_many_rows_and_other_k():
    rng = np.random.default_rng(1)
    probs = softmax(rng.normal(size=(6, 1000)))
    names, top = topk(probs, 3)
    assert len(names) == 6 and all(len(r) == 3 for r in names)
    order = np.argsort(-probs, axis=1)[:, :3]
    for row, idx in zip(names, order, strict=True):
        assert row == [IMAGENET_CLASSES[i] for i in idx]
    np.testing.assert_allclose(top, np.take_along_axis(probs, order, 1))
    _, top1 = topk(probs, 1)
    assert top1.shape == (6, 1)


def test_topk_rejects_bad_k():
    with pytest.raises(ValueError):
        topk(np.zeros((1, 1000)), 0)
