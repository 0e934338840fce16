"""The training loop of the models trained from scratch, and seeding.

Everything is deterministic: fixed seeds, a fixed torch thread count
(set_threads; --threads), sorted inputs.
"""

import dataclasses
import random
import time

import torch
from torch import nn

from .constants import SEED
from .metrics import macro_recall
from .tokenizer import pad_batch

THREADS = 1  # torch threads; set_threads (--threads) changes it


def set_threads(count):
    """Sets the torch thread count that seed_everything applies."""
    global THREADS
    THREADS = count


def seed_everything():
    """Fixes every source of randomness and the torch thread count."""
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


@dataclasses.dataclass
class TrainConfig:
    """Optimiser and regularisation settings."""
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    token_dropout: float = 0.1  # chance to drop each training token


def class_weights(labels, num_labels):
    """Inverse square-root frequency weights, mean 1."""
    counts = torch.bincount(torch.tensor(labels), minlength=num_labels).float()
    weights = (counts.sum() / counts.clamp(min=1.0)).sqrt()
    return weights / weights.mean()


def predict_logits(model, id_lists, batch_size=256):
    """Logits for every id list, in order, in eval mode."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(id_lists), batch_size):
            batch = pad_batch(id_lists[start:start + batch_size])
            outputs.append(model(*batch))
    return torch.cat(outputs)


def train_classifier(name, model, train, dev, num_labels, config,
                     verbose=True):
    """Trains with Adam; keeps the epoch with the best dev macro recall.

    train and dev are (id_lists, labels) pairs.
    """
    train_ids, train_labels = train
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss(
        weight=class_weights(train_labels, num_labels),
        label_smoothing=config.label_smoothing)
    order_gen = torch.Generator().manual_seed(SEED)
    drop_rng = random.Random(SEED)
    labels = torch.tensor(train_labels)
    best_score, best_state = -1.0, None
    started = time.time()
    for epoch in range(1, config.epochs + 1):
        model.train()
        total = 0.0
        order = bucketed_batches(train_ids, config.batch_size, order_gen)
        for batch in order:
            input_ids, mask = pad_batch(
                [drop_tokens(train_ids[i], config.token_dropout, drop_rng)
                 for i in batch])
            loss = loss_fn(model(input_ids, mask), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        dev_pred = predict_logits(model, dev[0]).argmax(1).tolist()
        score = macro_recall(dev[1], dev_pred, num_labels)
        marker = ""
        if score > best_score:
            best_score, marker = score, " *"
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if verbose or epoch == config.epochs:
            print(f"  [{name}] epoch {epoch:2d} loss "
                  f"{total / len(labels):.4f} dev macro-recall {score:.3f}"
                  f"{marker} ({time.time() - started:.0f}s)", flush=True)
    model.load_state_dict(best_state)
    model.eval()
    print(f"  [{name}] kept best epoch: dev macro-recall {best_score:.3f}")
    return model


def bucketed_batches(id_lists, batch_size, generator):
    """Batches of similar length (less padding), in a random order.

    A random permutation is cut into pools of 64 batches; each pool is
    sorted by length and cut into batches; the batches are shuffled.
    """
    order = torch.randperm(len(id_lists), generator=generator).tolist()
    pool = batch_size * 64
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool],
                       key=lambda i: (len(id_lists[i]), i))
        batches += [chunk[i:i + batch_size]
                    for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def drop_tokens(ids, rate, rng):
    """Randomly drops tokens (word dropout); always keeps at least one."""
    kept = [t for t in ids if rng.random() >= rate]
    return kept or ids[:1]

