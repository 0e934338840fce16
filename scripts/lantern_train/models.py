"""The architectures trained from scratch on SentencePiece ids.

Every module implements forward(input_ids, attention_mask) -> logits and
gives the same answer whether or not the input is right-padded, as the
server requires (docs/models.md).
"""

import torch
from torch import nn
from torch.nn import functional as F

import encoder_head

from .constants import (CONTEXT_LABELS, CONTEXT_RISKS, DISTRESS_LABELS,
                        DISTRESS_RISKS, LANGUAGE_LABELS, LANGUAGE_RISKS,
                        LEVEL_RISKS, LEVEL_TO_DISTRESS, LEVELS, PAD_ID)
from .data import language_label


class SeverityCNN(nn.Module):
    """Embedding -> Conv1d (kernels 2, 3, 4) -> ReLU -> masked max -> linear.

    Each window starts at a real token; positions past the end read zero
    vectors whether they come from padding or from the explicit right pad, so
    a padded and an unpadded sequence give the same result.
    """

    def __init__(self, vocab_size, num_labels, dim=64, channels=64,
                 kernels=(2, 3, 4), dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(
            [nn.Conv1d(dim, channels, k) for k in kernels])
        self.max_kernel = max(kernels)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(channels * len(kernels), num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        length = input_ids.size(1)
        x = self.embedding(input_ids) * mask.unsqueeze(-1)   # [B, T, D]
        x = F.pad(x.transpose(1, 2), (0, self.max_kernel - 1))  # [B, D, T+k-1]
        pooled = []
        for conv in self.convs:
            h = F.relu(conv(x))[:, :, :length]                # [B, C, T]
            h = h * mask.unsqueeze(1)                         # ReLU >= 0
            pooled.append(h.max(dim=2).values)
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


class DistressBag(nn.Module):
    """Masked mean of unigram and hashed-bigram embeddings -> MLP."""

    def __init__(self, vocab_size, num_labels, dim=64, buckets=8192,
                 hidden=64, dropout=0.3):
        super().__init__()
        self.unigrams = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.bigrams = nn.Embedding(buckets, dim)
        self.buckets = buckets
        self.hidden = nn.Linear(2 * dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        uni = self.unigrams(input_ids) * mask.unsqueeze(-1)
        uni_mean = uni.sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        # Bigram (a, b) -> (a * 1000003 + b) % buckets, both tokens real.
        hashed = (input_ids[:, :-1] * 1000003 + input_ids[:, 1:]) % self.buckets
        bi_mask = mask[:, :-1] * mask[:, 1:]
        bi = self.bigrams(hashed) * bi_mask.unsqueeze(-1)
        bi_mean = bi.sum(1) / bi_mask.sum(1, keepdim=True).clamp(min=1.0)
        h = F.relu(self.hidden(torch.cat([uni_mean, bi_mean], dim=1)))
        return self.out(self.dropout(h))


class ContextGRU(nn.Module):
    """Embedding -> left-to-right GRU -> masked mean and max pool -> linear.

    The GRU only reads to the right, so its outputs at real tokens never
    depend on padding after them, and the pools skip padded positions: a
    padded and an unpadded sequence give the same result.
    """

    def __init__(self, vocab_size, num_labels, dim=48, hidden=64,
                 dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, num_labels)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32).unsqueeze(-1)   # [B, T, 1]
        states, _ = self.gru(self.embedding(input_ids))         # [B, T, H]
        count = mask.sum(1)                                     # [B, 1]
        mean = (states * mask).sum(1) / count.clamp(min=1.0)
        peak = (states * mask + (mask - 1.0) * 1e4).max(1).values
        peak = peak * (count > 0).to(torch.float32)
        return self.out(self.dropout(torch.cat([mean, peak], dim=1)))


class SeedAverage(nn.Module):
    """Several copies of one architecture, trained from different seeds.

    Returns log(mean of the copies' softmax), so the server's softmax of
    the output is exactly the copies' mean probability.
    """

    def __init__(self, copies):
        super().__init__()
        self.copies = nn.ModuleList(copies)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        return encoder_head.log_mean_softmax(
            [copy(input_ids, attention_mask) for copy in self.copies])


# The models trained from scratch, in ensemble order (the encoder follows).
MODEL_SPECS = [
    # name, class, labels, risks, label of an example, seed copies
    ("severity", SeverityCNN, LEVELS, LEVEL_RISKS, lambda e: e.level, 3),
    ("distress", DistressBag, DISTRESS_LABELS, DISTRESS_RISKS,
     lambda e: LEVEL_TO_DISTRESS[e.level], 3),
    ("context", ContextGRU, CONTEXT_LABELS, CONTEXT_RISKS,
     lambda e: e.literal, 1),
    ("language", DistressBag, LANGUAGE_LABELS, LANGUAGE_RISKS,
     language_label, 1),
]

