"""Real photos for tests, from the sample data scikit-image ships (the ``demo`` extra).

:data:`PHOTOS` are distinct pictures, plus the left view of ``stereo_motorcycle``. Left
out: the right view (the two views of the stereo pair are as close as a recompressed copy,
cosine 0.90: no embedding threshold keeps them apart and every copy together), the star
field and the text page (half of either is the same texture as the whole, so the
generated "other shot" of them is no distinct photo).
"""

from __future__ import annotations

import os

from PIL import Image

#: scikit-image sample name -> file name
PHOTOS = {
    "astronaut": "astronaut.jpg",
    "chelsea": "chelsea.jpg",
    "coffee": "coffee.jpg",
    "rocket": "rocket.jpg",
    "immunohistochemistry": "ihc.jpg",
    "retina": "retina.jpg",
    "camera": "camera.png",
    "coins": "coins.jpg",
    "horse": "horse.png",
    "moon": "moon.jpg",
    "clock": "clock.jpg",
    "brick": "brick.jpg",
}


def write_photos(folder: str, names: list[str] | None = None) -> list[str]:
    """Save the sample photos (and the motorcycle) into ``folder``; returns paths."""
    from skimage import data

    os.makedirs(folder, exist_ok=True)
    paths = []
    for name in names or list(PHOTOS):
        img = Image.fromarray(getattr(data, name)()).convert("RGB")
        path = os.path.join(folder, PHOTOS[name])
        img.save(path, quality=92) if path.endswith(".jpg") else img.save(path)
        paths.append(path)
    if names is None:
        path = os.path.join(folder, "motorcycle.jpg")
        Image.fromarray(data.stereo_motorcycle()[0]).convert("RGB").save(path, quality=92)
        paths.append(path)
    return paths
