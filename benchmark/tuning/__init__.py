"""Equal tuning budgets: a seeded optuna TPE study per (dataset, profile, method), scored on the validation split.

``space``: the search spaces, declared beside each method's config (``SEARCH_SPACE``) and validated here.
``study``: one study (ask/tell over an objective) and the study file, one JSON per dataset and profile.
``tune``: trials as suite stages (the shared SFT checkpoint, the method's full budget, validation scoring).
``apply``: a later ``grbench run`` with ``tuning.use: true`` takes the chosen configuration from the file.
``sensitivity``: metric against each tuned parameter, CSV + PNG beside the study.

Only ``space`` is imported here: the method modules import it to declare their spaces, and optuna, torch and
matplotlib load with the first study.
"""

from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range, check_params, search_space

__all__ = ["LEARNING_RATE", "PREFERENCE_LR", "Range", "check_params", "search_space"]
