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


def test_non_animal_class_is_other():
    labels, scores = catdog(one_hot((TOILET_TISSUE, 0.95))[None])
    assert labels == ["other"] and scores[0] > 0.95


def exact(*pairs: tuple[int, float]) -> np.ndarray:
    """A (1000,) vector with exactly the given mass on the given classes and 0 elsewhere."""
    p = np.zeros(1000, dtype=np.float32)
    for i, v in pairs:
        p[i] += v
    return p


def group_sums(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64).reshape(-1, 1000)
    return p[:, list(CAT_CLASSES)].sum(1), p[:, list(DOG_CLASSES)].sum(1)


def corrected(p_cat: float, p_dog: float) -> tuple[float, float]:
    """The pet mass split between cat and dog in proportion to the group means."""
    m_cat, m_dog = p_cat / len(CAT_CLASSES), p_dog / len(DOG_CLASSES)
    return (p_cat + p_dog) * m_cat / (m_cat + m_dog), (p_cat + p_dog) * m_dog / (m_cat + m_dog)


def test_group_sizes_the_means_divide_by():
    assert (len(CAT_CLASSES), len(DOG_CLASSES)) == (13, 125)


def test_larger_mean_wins_where_the_dog_sum_is_larger():
    """A cat that looks like a small dog: more summed mass on the 125 dog classes, but
    more mass per class on the 13 cat classes. Summed, it would be a dog."""
    probs = np.stack(
        [
            exact((TABBY, 0.17), (CHIHUAHUA, 0.4), (GOLDEN, 0.3), (TOILET_TISSUE, 0.13)),
            exact((LYNX, 0.09), (CHIHUAHUA, 0.55), (TOILET_TISSUE, 0.36)),
            exact((EGYPTIAN_CAT, 0.05), (HUSKY, 0.9), (TOILET_TISSUE, 0.05)),
        ]
    )
    p_cat, p_dog = group_sums(probs)
    assert (p_dog > p_cat).all()
    labels, scores = catdog(probs)
    assert labels == ["cat", "cat", "dog"]  # 0.05 / 13 < 0.9 / 125: still a dog
    expected = [corrected(p_cat[0], p_dog[0])[0], corrected(p_cat[1], p_dog[1])[0],
                corrected(p_cat[2], p_dog[2])[1]]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert 0.5 < scores[0] < 0.87  # below the pet mass: part of it went to dog


def test_the_boundary_is_where_the_means_are_equal():
    """Cat exactly when p_cat / 13 >= p_dog / 125, whatever the total."""
    p_dog = 0.6
    at = p_dog * 13 / 125
    for p_cat, want in ((at * 1.01, "cat"), (at * 0.99, "dog")):
        p = exact((TABBY, p_cat), (GOLDEN, p_dog), (TOILET_TISSUE, 1 - p_cat - p_dog))
        assert catdog(p[None])[0] == [want]
    # 13/256 and 125/256 are exact in float32: equal means, and a tie goes to cat
    tie = exact((TABBY, 13 / 256), (GOLDEN, 125 / 256), (TOILET_TISSUE, 118 / 256))
    labels, scores = catdog(tie[None])
    assert labels == ["cat"]
    assert scores[0] == pytest.approx(0.5 * 138 / 256, abs=1e-6)


def test_either_group_above_the_threshold_is_a_pet_even_when_both_are_below_half():
    probs = np.stack(
        [
            exact((EGYPTIAN_CAT, 0.4), (GOLDEN, 0.35), (TOILET_TISSUE, 0.25)),
            exact((TABBY, 0.3), (HUSKY, 0.25), (TOILET_TISSUE, 0.45)),
            exact((CHIHUAHUA, 0.3), (TOILET_TISSUE, 0.7)),
            exact((TABBY, 0.21), (TOILET_TISSUE, 0.79)),
        ]
    )
    labels, scores = catdog(probs)
    assert labels == ["cat", "cat", "dog", "cat"]
    p_cat, p_dog = group_sums(probs)
    expected = [corrected(c, d)[0 if lab == "cat" else 1]
                for lab, c, d in zip(labels, p_cat, p_dog, strict=True)]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    np.testing.assert_allclose(scores[2:], [0.3, 0.21], atol=1e-6)  # only one group: its sum


def test_little_cat_or_dog_evidence_is_other():
    """Both sums below the threshold: other, scored by the mass on neither group, even
    where the cat group's mean is far above the dog group's."""
    probs = np.stack(
        [
            exact((TABBY, 0.12), (GOLDEN, 0.15), (TOILET_TISSUE, 0.73)),
            exact((TABBY, OTHER_THRESHOLD - 0.01), (TOILET_TISSUE, 1.01 - OTHER_THRESHOLD)),
        ]
    )
    labels, scores = catdog(probs)
    assert labels == ["other", "other"]
    np.testing.assert_allclose(scores, [0.73, 1.01 - OTHER_THRESHOLD], atol=1e-6)


def test_flat_row_is_other():
    """A know-nothing softmax puts 0.125 on dogs and 0.013 on cats: equal means, too
    little evidence."""
    labels, scores = catdog(np.full((1, 1000), 1e-3, dtype=np.float32))
    assert labels == ["other"]
    assert scores[0] == pytest.approx(1 - 0.138, abs=1e-5)


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
    # the threshold looks at the sums: 0.3 on dogs is enough evidence, and the means say cat
    split = exact((LYNX, 0.1), (GOLDEN, 0.3), (TOILET_TISSUE, 0.6))
    assert catdog(split[None], threshold=0.25)[0] == ["cat"]
    assert catdog(split[None], threshold=0.31)[0] == ["other"]


def test_split_between_cat_and_dog_is_other_with_small_score_at_a_majority_threshold():
    """With threshold 0.5, 0.4 cat + 0.35 dog is other; only 0.25 is on neither group."""
    p = exact((EGYPTIAN_CAT, 0.4), (GOLDEN, 0.35), (TOILET_TISSUE, 0.25))
    labels, scores = catdog(p[None], threshold=0.5)
    assert labels == ["other"]
    assert scores[0] == pytest.approx(0.25, abs=1e-6)


def test_answers_do_not_depend_on_the_batch():
    tie = exact((TABBY, 13 / 256), (GOLDEN, 125 / 256), (TOILET_TISSUE, 118 / 256))
    weak = exact((TABBY, 0.1), (GOLDEN, 0.1), (TOILET_TISSUE, 0.8))
    dog = exact((GOLDEN, 0.9), (TOILET_TISSUE, 0.1))
    rows = [dog, tie, weak, tie]
    labels, scores = catdog(np.stack(rows))
    assert labels == ["dog", "cat", "other", "cat"]
    for row, lab, s in zip(rows, labels, scores, strict=True):
        alone = catdog(row[None])
        assert alone[0] == [lab] and alone[1][0] == s
    np.testing.assert_allclose(scores[[0, 2]], [0.9, 0.8], atol=1e-6)


def random_rows(seed: int, n: int = 300) -> np.ndarray:
    """Softmax rows spread over cat, dog and other, including confident and flat ones."""
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(scale=rng.uniform(0.0, 8.0, size=(n, 1)), size=(n, 1000)))
    probs[:, list(CAT_CLASSES)] *= rng.uniform(0.0, 40.0, size=(n, 1))
    probs[:, list(DOG_CLASSES)] *= rng.uniform(0.0, 6.0, size=(n, 1))
    return (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def test_score_is_the_corrected_probability_of_the_reported_answer():
    probs = random_rows(3)
    labels, scores = catdog(probs)
    p_cat, p_dog = group_sums(probs)
    assert {"cat", "dog", "other"} <= set(labels)
    assert scores.dtype == np.float32 and ((scores >= 0) & (scores <= 1)).all()
    for lab, s, c, d in zip(labels, scores, p_cat, p_dog, strict=True):
        cat, dog = corrected(c, d)
        assert cat + dog + (1 - c - d) == pytest.approx(1.0)
        if lab == "other":
            assert max(c, d) < OTHER_THRESHOLD
            assert s == pytest.approx(1 - c - d, abs=1e-5)
        else:
            assert max(c, d) >= OTHER_THRESHOLD
            assert (lab == "cat") == (c / 13 >= d / 125)
            assert s == pytest.approx(cat if lab == "cat" else dog, abs=1e-5)
            assert (c + d) / 2 - 1e-6 <= s <= c + d + 1e-6  # the larger share of the pet mass


@pytest.mark.parametrize("threshold", [0.0, 0.2, 1.0])
def test_scores_stay_in_the_unit_interval(threshold):
    probs = np.concatenate(
        [
            random_rows(4, 200),
            np.zeros((1, 1000), dtype=np.float32),  # no mass anywhere
            exact((TABBY, 1.0))[None],
            exact((GOLDEN, 1.0))[None],
            np.full((1, 1000), 1e-3, dtype=np.float32),
        ]
    )
    labels, scores = catdog(probs, threshold=threshold)
    assert len(labels) == len(probs) and np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert labels[-3:-1] == ["cat", "dog"]
    np.testing.assert_allclose(scores[-3:-1], [1.0, 1.0], atol=1e-6)


def test_default_threshold():
    # Above the dog group's share of a flat softmax (125 / 1000), below a weak pet photo.
    assert 125 / 1000 < OTHER_THRESHOLD < 0.5
    assert catdog.__defaults__ == (OTHER_THRESHOLD,)


def test_batch_of_mixed_rows_and_score_of_a_clear_answer_is_near_its_sum():
    probs = np.stack(
        [
            one_hot((TABBY, 0.5), (EGYPTIAN_CAT, 0.3)),
            one_hot((CHIHUAHUA, 0.9)),
            one_hot((ANGORA, 0.9)),
        ]
    )
    labels, scores = catdog(probs)
    assert labels == ["cat", "dog", "other"]
    p_cat, p_dog = group_sums(probs)
    np.testing.assert_allclose(
        scores,
        [corrected(p_cat[0], p_dog[0])[0], corrected(p_cat[1], p_dog[1])[1],
         1 - p_cat[2] - p_dog[2]],
        rtol=1e-5,
    )
    # the weak spread mass on the other group moves a clear answer's score only a little
    np.testing.assert_allclose(scores[:2], [p_cat[0], p_dog[1]], atol=0.03)


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
