"""ImageNet-1k class names and the rules that turn a 1000-way softmax into answers.

Everything here is plain numpy so that it can run inside a Spark worker, next to
onnxruntime, without importing torch.

* :data:`IMAGENET_CLASSES` - the 1000 short class names, in class-index order.
* :func:`softmax` - logits -> probabilities.
* :func:`topk` - the k most probable class names per row.
* :func:`catdog` - the "cat / dog / other" rule, built on group sums and group means of
  class probabilities.

Why groups: ImageNet has no "cat" or "dog" class. It has 118 dog breeds, 5 domestic-cat
classes and 8 wild cats. A dog photo often spreads its probability over several similar
breeds, none of which is high on its own, and some house cats put much of their
probability on a wild cat (lynx above all, also cougar). Summing over the whole group
measures "how much of the model's belief is on a cat" (or a dog) directly.

Why means for cat against dog: the network learnt its probabilities from a training set
with about as many photos per class, so 125 dog classes against 13 cat classes make "dog"
about ten times as likely a priori, and a cat photo that resembles a small dog puts more
summed mass on the many breeds than on the few cats. Comparing each group's mean class
probability (sum / number of classes) removes that prior. ``docs/models.md`` records the
measurements behind the class lists, the rule and the threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparkvision.models.activations import softmax as _softmax

__all__ = [
    "IMAGENET_CLASSES",
    "CAT_CLASSES",
    "DOG_CLASSES",
    "OTHER_THRESHOLD",
    "softmax",
    "catdog",
    "topk",
]

_NUM_CLASSES = 1000


def _load_classes() -> tuple[str, ...]:
    path = Path(__file__).with_name("imagenet_classes.txt")
    names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    names = tuple(n for n in names if n)
    if len(names) != _NUM_CLASSES:  # pragma: no cover - guards a damaged data file
        raise RuntimeError(f"{path} holds {len(names)} class names, expected {_NUM_CLASSES}")
    return names


IMAGENET_CLASSES: tuple[str, ...] = _load_classes()

#: ImageNet indices whose probability counts towards "cat".
CAT_CLASSES: tuple[int, ...] = (
    # The five domestic-cat classes.
    281,  # tabby
    282,  # tiger cat
    283,  # Persian cat
    284,  # Siamese cat
    285,  # Egyptian cat
    # Wild cats. House cats leak here: on real cat photos lynx is in the top-5 about half
    # the time (and top-1 for some spotted or tufted cats), cougar now and then; the big
    # cats get little mass but are felids too. Dog photos put almost nothing here.
    286,  # cougar
    287,  # lynx
    288,  # leopard
    289,  # snow leopard
    290,  # jaguar
    291,  # lion
    292,  # tiger
    293,  # cheetah
)

#: ImageNet indices whose probability counts towards "dog": every domestic breed, plus the
#: wolf-like wild canids that huskies, Samoyeds, white and dingo-coloured dogs drift to.
#: Hyena (276) and the foxes (277-280) are left out on purpose: they draw more probability
#: from cat photos (ginger, grey and big-eared cats) than from dog photos.
DOG_CLASSES: tuple[int, ...] = (
    151,  # Chihuahua
    152,  # Japanese spaniel
    153,  # Maltese dog
    154,  # Pekinese
    155,  # Shih-Tzu
    156,  # Blenheim spaniel
    157,  # papillon
    158,  # toy terrier
    159,  # Rhodesian ridgeback
    160,  # Afghan hound
    161,  # basset
    162,  # beagle
    163,  # bloodhound
    164,  # bluetick
    165,  # black-and-tan coonhound
    166,  # Walker hound
    167,  # English foxhound
    168,  # redbone
    169,  # borzoi
    170,  # Irish wolfhound
    171,  # Italian greyhound
    172,  # whippet
    173,  # Ibizan hound
    174,  # Norwegian elkhound
    175,  # otterhound
    176,  # Saluki
    177,  # Scottish deerhound
    178,  # Weimaraner
    179,  # Staffordshire bullterrier
    180,  # American Staffordshire terrier
    181,  # Bedlington terrier
    182,  # Border terrier
    183,  # Kerry blue terrier
    184,  # Irish terrier
    185,  # Norfolk terrier
    186,  # Norwich terrier
    187,  # Yorkshire terrier
    188,  # wire-haired fox terrier
    189,  # Lakeland terrier
    190,  # Sealyham terrier
    191,  # Airedale
    192,  # cairn
    193,  # Australian terrier
    194,  # Dandie Dinmont
    195,  # Boston bull
    196,  # miniature schnauzer
    197,  # giant schnauzer
    198,  # standard schnauzer
    199,  # Scotch terrier
    200,  # Tibetan terrier
    201,  # silky terrier
    202,  # soft-coated wheaten terrier
    203,  # West Highland white terrier
    204,  # Lhasa
    205,  # flat-coated retriever
    206,  # curly-coated retriever
    207,  # golden retriever
    208,  # Labrador retriever
    209,  # Chesapeake Bay retriever
    210,  # German short-haired pointer
    211,  # vizsla
    212,  # English setter
    213,  # Irish setter
    214,  # Gordon setter
    215,  # Brittany spaniel
    216,  # clumber
    217,  # English springer
    218,  # Welsh springer spaniel
    219,  # cocker spaniel
    220,  # Sussex spaniel
    221,  # Irish water spaniel
    222,  # kuvasz
    223,  # schipperke
    224,  # groenendael
    225,  # malinois
    226,  # briard
    227,  # kelpie
    228,  # komondor
    229,  # Old English sheepdog
    230,  # Shetland sheepdog
    231,  # collie
    232,  # Border collie
    233,  # Bouvier des Flandres
    234,  # Rottweiler
    235,  # German shepherd
    236,  # Doberman
    237,  # miniature pinscher
    238,  # Greater Swiss Mountain dog
    239,  # Bernese mountain dog
    240,  # Appenzeller
    241,  # EntleBucher
    242,  # boxer
    243,  # bull mastiff
    244,  # Tibetan mastiff
    245,  # French bulldog
    246,  # Great Dane
    247,  # Saint Bernard
    248,  # Eskimo dog
    249,  # malamute
    250,  # Siberian husky
    251,  # dalmatian
    252,  # affenpinscher
    253,  # basenji
    254,  # pug
    255,  # Leonberg
    256,  # Newfoundland
    257,  # Great Pyrenees
    258,  # Samoyed
    259,  # Pomeranian
    260,  # chow
    261,  # keeshond
    262,  # Brabancon griffon
    263,  # Pembroke
    264,  # Cardigan
    265,  # toy poodle
    266,  # miniature poodle
    267,  # standard poodle
    268,  # Mexican hairless
    # Wolf-like wild canids.
    269,  # timber wolf
    270,  # white wolf
    271,  # red wolf
    272,  # coyote
    273,  # dingo
    274,  # dhole
    275,  # African hunting dog
)

#: Smallest group sum (``p_cat`` or ``p_dog``) for which the rule answers "cat" or "dog"
#: instead of "other": with both sums below it the photo carries too little cat or dog
#: evidence. Above 0.125, the dog group's share of a flat (know-nothing) softmax; chosen
#: from measurements in docs/models.md (re-checked for the group-mean rule).
OTHER_THRESHOLD: float = 0.2

_CAT_IDX = np.asarray(CAT_CLASSES, dtype=np.intp)
_DOG_IDX = np.asarray(DOG_CLASSES, dtype=np.intp)


def _as_2d(a: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != _NUM_CLASSES:
        raise ValueError(f"{what} must have shape (N, {_NUM_CLASSES}), got {np.shape(a)}")
    return arr


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ImageNet logits, ``(N, 1000) -> (N, 1000)`` float32.

    A single row of shape ``(1000,)`` is accepted and returned as ``(1, 1000)``.
    """
    return _softmax(_as_2d(logits, "logits").astype(np.float32, copy=False))


def catdog(
    probs: np.ndarray, threshold: float = OTHER_THRESHOLD
) -> tuple[list[str], np.ndarray]:
    """Label each row ``"cat"``, ``"dog"`` or ``"other"`` from its 1000-way softmax.

    ``p_cat`` is the probability summed over :data:`CAT_CLASSES` (13 classes), ``p_dog``
    over :data:`DOG_CLASSES` (125 classes).

    * ``"other"`` when the photo carries too little cat or dog evidence: both sums below
      ``threshold``.
    * Otherwise ``"cat"`` or ``"dog"``, whichever group has the larger **mean** class
      probability, ``p_cat / 13`` against ``p_dog / 125`` (a tie goes to ``"cat"``).
      Comparing sums would favour dogs, which have almost ten times as many classes: a
      cat with 0.17 on cats and 0.70 on dog breeds is a cat by the means (0.013 against
      0.0056 per class).

    Scores (float32, shape ``(N,)``, in [0, 1]) are the probability of the returned answer
    after the same correction: the pet mass ``p_cat + p_dog`` is split between cat and dog
    in proportion to the group means, so

    * ``"cat"`` scores ``(p_cat + p_dog) * m_cat / (m_cat + m_dog)`` with
      ``m_cat = p_cat / 13``, ``m_dog = p_dog / 125`` (``"dog"`` likewise),
    * ``"other"`` scores ``1 - p_cat - p_dog``, the mass on neither group,

    and the three corrected probabilities of a row add up to 1. A sure photo scores near
    1; a cat answer half taken by dog breeds, or a photo with little pet mass at all,
    scores low. (At a threshold of 0.5, a photo that is 40 % cat and 35 % dog would be
    "other" with a score of only 0.25: the model does think it is an animal.)
    """
    p = _as_2d(probs, "probs").astype(np.float32, copy=False)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    p_cat = p[:, _CAT_IDX].sum(axis=1, dtype=np.float64)
    p_dog = p[:, _DOG_IDX].sum(axis=1, dtype=np.float64)
    m_cat = p_cat / len(CAT_CLASSES)
    m_dog = p_dog / len(DOG_CLASSES)
    is_cat = m_cat >= m_dog
    sure = np.maximum(p_cat, p_dog) >= threshold
    labels = [
        ("cat" if c else "dog") if s else "other"
        for c, s in zip(is_cat.tolist(), sure.tolist(), strict=True)
    ]
    m_best = np.where(is_cat, m_cat, m_dog)
    m_both = m_cat + m_dog
    share = np.divide(m_best, m_both, out=np.ones_like(m_both), where=m_both > 0)
    pet = p_cat + p_dog
    scores = np.where(sure, pet * share, 1.0 - pet)
    return labels, np.clip(scores, 0.0, 1.0).astype(np.float32)


def topk(probs: np.ndarray, k: int = 5) -> tuple[list[list[str]], np.ndarray]:
    """The ``k`` most probable classes per row: names and probabilities ``(N, k)``, descending."""
    p = _as_2d(probs, "probs")
    if not 1 <= k <= _NUM_CLASSES:
        raise ValueError(f"k must lie in [1, {_NUM_CLASSES}], got {k}")
    part = np.argpartition(-p, k - 1, axis=1)[:, :k]
    part_p = np.take_along_axis(p, part, axis=1)
    order = np.argsort(-part_p, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    top_p = np.take_along_axis(p, idx, axis=1).astype(np.float32)
    names = [[IMAGENET_CLASSES[i] for i in row] for row in idx.tolist()]
    return names, top_p
