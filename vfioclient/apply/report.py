"""The one-line summary every apply command prints after its rows."""


def summary(results, actions, hint=''):
    """Counts by action (in ``actions`` order) and the items not done.

    ``results`` have ``action``, ``ok`` and a ``label`` (what to name when
    an item was not done); ``hint`` says how to finish the rest.
    """
    counts = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    text = ', '.join('%d %s' % (counts[a], a) for a in actions
                     if a in counts)
    bad = [r.label for r in results if not r.ok]
    if bad:
        text += '; not done: %s%s' % (', '.join(bad), hint)
    return text
