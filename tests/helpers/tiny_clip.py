"""A tiny, randomly initialised CLIP (and SigLIP) saved as transformers saves one (nothing
downloaded).

The tokenizer is CLIP's BPE over GPT-2's 256 byte-level symbols with no merges: every
character is a token (a word's last one carries ``</w>``), which any text can be written
in. Its special tokens get the ids the text config names, so the text tower pools at the
end-of-text token as a released CLIP does.
"""

from __future__ import annotations

import os
from typing import Any

IMAGE_SIZE = 64


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    shift, out = 0, {}
    for byte in range(256):
        if byte in printable:
            out[byte] = chr(byte)
        else:
            out[byte] = chr(256 + shift)
            shift += 1
    return [out[b] for b in range(256)]


def tiny_tokenizer(transformers: Any) -> Any:
    symbols = byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": 256 + i for i, s in enumerate(symbols)})
    vocab.update({"<|startoftext|>": 512, "<|endoftext|>": 513})
    return transformers.CLIPTokenizer(vocab=vocab, merges=[])


def write_tiny_clip(folder: str | os.PathLike[str], *, seed: int = 0,
                    image_size: int = IMAGE_SIZE, logit_scale: float | None = None) -> str:
    """Save a tiny random ``CLIPModel`` and its ``CLIPProcessor`` into ``folder``;
    ``logit_scale`` (the log of the multiplier) sharpens the softmax when given."""
    import torch
    import transformers

    tokenizer = tiny_tokenizer(transformers)
    ids = {"bos_token_id": 512, "eos_token_id": 513, "pad_token_id": 513}
    text = transformers.CLIPTextConfig(
        vocab_size=514, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, projection_dim=16, **ids)
    vision = transformers.CLIPVisionConfig(
        image_size=image_size, patch_size=16, hidden_size=32, intermediate_size=37,
        num_hidden_layers=2, num_attention_heads=2, projection_dim=16)
    config = transformers.CLIPConfig(text_config=text.to_dict(),
                                     vision_config=vision.to_dict(), projection_dim=16)
    torch.manual_seed(seed)
    model = transformers.CLIPModel(config).eval()
    if logit_scale is not None:
        with torch.no_grad():
            model.logit_scale.fill_(logit_scale)
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(
            size={"shortest_edge": image_size},
            crop_size={"height": image_size, "width": image_size}),
        tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return os.fspath(folder)


def write_tiny_siglip(folder: str | os.PathLike[str], *, seed: int = 0,
                      image_size: int = IMAGE_SIZE) -> str:
    """The same for a tiny random ``SiglipModel`` (its processor squashes to the square),
    with the byte-level tokenizer above."""
    import torch
    import transformers

    ids = {"bos_token_id": 512, "eos_token_id": 513, "pad_token_id": 513}
    text = transformers.SiglipTextConfig(
        vocab_size=514, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=64, **ids)
    vision = transformers.SiglipVisionConfig(
        image_size=image_size, patch_size=16, hidden_size=32, intermediate_size=37,
        num_hidden_layers=2, num_attention_heads=2)
    config = transformers.SiglipConfig(text_config=text.to_dict(),
                                       vision_config=vision.to_dict())
    torch.manual_seed(seed)
    model = transformers.SiglipModel(config).eval()
    with torch.no_grad():  # a spread of sigmoid scores, not all near 0 or 1
        model.logit_scale.fill_(2.0)
        model.logit_bias.fill_(-1.0)
    processor = transformers.SiglipProcessor(
        image_processor=transformers.SiglipImageProcessor(
            size={"height": image_size, "width": image_size}),
        tokenizer=tiny_tokenizer(transformers))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return os.fspath(folder)
