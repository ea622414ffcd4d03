"""Make the example images for `make demo`.

Real photos come from scikit-image's bundled sample data (a cat, a coffee cup, an
astronaut, a rocket, a motorcycle; installed with the `demo` extra). Each is saved into a
folder named after what it shows, some as PNG or rotated through an EXIF orientation tag, and
one deliberately broken file shows how a bad image is reported without stopping the job.

Usage: python scripts/demo_images.py OUT_DIR
"""

from __future__ import annotations

import os
import sys

from PIL import Image

SAMPLES = {
    "cat": ["chelsea"],
    "other": ["coffee", "astronaut", "rocket", "stereo_motorcycle"],
}


def main(out: str) -> None:
    from skimage import data

    written = 0
    for label, names in SAMPLES.items():
        folder = os.path.join(out, label)
        os.makedirs(folder, exist_ok=True)
        for name in names:
            pixels = getattr(data, name)()
            if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
                pixels = pixels[0]
            img = Image.fromarray(pixels).convert("RGB")
            img.save(os.path.join(folder, f"{name}.jpg"), quality=92)
            img.save(os.path.join(folder, f"{name}.png"))
            # The same photo stored sideways with an EXIF tag saying "rotate 90":
            # decoding must turn it upright again.
            exif = Image.Exif()
            exif[0x0112] = 6
            img.transpose(Image.Transpose.ROTATE_90).save(
                os.path.join(folder, f"{name} (rotated).jpg"), exif=exif, quality=92
            )
            written += 3
    with open(os.path.join(out, "other", "not-really-a-photo.jpg"), "w") as fh:
        fh.write("<html>this file only pretends to be a JPEG</html>\n")
    print(f"wrote {written + 1} example images to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/demo_images.py OUT_DIR")
    main(sys.argv[1])
