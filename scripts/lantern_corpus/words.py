"""Picking and joining fragments."""


def pick(rng, items):
    """One element of a list."""
    return items[rng.randrange(len(items))]


def join(*parts):
    """Non-empty fragments joined by single spaces."""
    return " ".join(p for p in parts if p)


def fill(template, rng, **lists):
    """Fills {name} slots of template from the given fragment lists."""
    return template.format(**{k: pick(rng, v) for k, v in lists.items()})
