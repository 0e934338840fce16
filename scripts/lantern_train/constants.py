"""Labels, label risks, level indices, quality targets and seeds.

Shared by every part of training; nothing here computes.
"""

import encoder_head

SEED = 1234
MAX_TOKENS = 64
PAD_ID = 0
VOCAB_SIZE = 4000

LEVELS = ["none", "low", "medium", "high", "critical"]
# Label risks: how strongly each label pushes a message towards review.
# Evenly spaced, so that a confident "medium" lands in the middle of the
# score range, well below a confident "high". With medium at 0.6 (the
# earlier choice) a confident medium scored like an uncertain high, and
# the tuned medium band shrank to almost nothing: 5-fold cross-validation
# over train+dev rated 72% of medium messages high or critical; with even
# risks 48%, at the same high+critical recall.
LEVEL_RISKS = [0.0, 0.25, 0.5, 0.75, 1.0]
DISTRESS_LABELS = ["calm", "distress", "danger"]
DISTRESS_RISKS = [0.0, 0.5, 1.0]
# Level index -> distress label index.
LEVEL_TO_DISTRESS = [0, 1, 1, 2, 2]
CONTEXT_LABELS = ["literal", "non_literal"]
CONTEXT_RISKS = [0.0, 0.0]  # ignored by the server: context is a modifier
CONTEXT_WEIGHT = 1.0        # unused for a modifier or gate, but must be > 0
# The gate of the English-only encoder (GATE below).
LANGUAGE_LABELS = ["english", "other"]
LANGUAGE_RISKS = [0.0, 0.0]  # ignored by the server: language is a gate
HIGH = LEVELS.index("high")
MEDIUM = LEVELS.index("medium")
LOW = LEVELS.index("low")

# Levels that count as a pass for each expected level (the eval tool uses
# the same rule): none -> none/low, low -> none..medium, medium ->
# low..high, high and critical -> high/critical.
PASS_LEVELS = [{0, 1}, {0, 1, 2}, {1, 2, 3}, {3, 4}, {3, 4}]

# Issue 3 targets, and the stricter ones used when tuning on dev (a margin
# for the step from dev to test).
TARGET_RECALL = 0.97        # high+critical rated high or critical
TARGET_NONE_FA = 0.03       # none rated medium or above, at most
TARGET_FAMILY_LOW = 0.90    # each false-alarm family rated none/low
TARGET_TAG_PASS = 0.85      # every tag
TUNE_MARGIN = 0.01
# How much a point below the recall target, or above the false-alarm
# target, costs next to a point below target on one tag; a missed crisis
# weighs the most.
RECALL_WEIGHT = 6.0
NONE_FA_WEIGHT = 4.0
# Within the targets, also prefer rating medium messages medium or above
# (the pass rule accepts low for them, but medium asks for a check-in).
MEDIUM_PLUS_WEIGHT = 0.5

# The encoder's heads (scripts/encoder_head.py): one hidden layer of 256, no
# augmented copies. Chosen by --cv-heads 5 on 2026-12-02 (docs/quality.md):
# a hidden layer beat a linear head by 9 points of macro recall; 128, 256
# and 512 units and dropout 0.3 were within 0.3 points; augmented copies
# traded 1.8 points of recall for 1.2 points more false alarms and twice the
# training time.
ENCODER_HEAD = encoder_head.HeadConfig()
# Train messages (every k-th, sorted) that calibrate the int8 encoder's
# input ranges.
CALIBRATION_MESSAGES = 2000

# The ensemble's shape (ensemble.json): the risk models in weight order, the
# modifier (model, label) and the gate (model, label, models it gates).
RISK_MODELS = ["severity", "distress", "encoder"]
MODIFIER = ("context", "non_literal")
# The language model gates the English-only encoder: the encoder's weight
# is multiplied by p(english) per message.
GATE = ("language", "english", ["encoder"])
