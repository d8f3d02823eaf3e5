"""Position-based click model (Richardson et al. 2007; Joachims et al. 2017): the "synthetic position-biased
noise" of DESIGN.md section 3.

An exposed item at rank k (1-based) is examined with probability theta_k = (1/k)^eta and, once examined, clicked
with a probability set by its graded truth: noise_floor (grade 0), relevant_click_prob (grade 1),
target_click_prob (grade 2). The ordered item is always clicked (an order implies a click), whatever its rank.
Relevant items left unclicked are the pseudo-negatives that RAD-DPO's reward weighting targets.
"""

from __future__ import annotations

import numpy as np

from benchmark.data.config import ClickConfig


def examination(k: int, eta: float) -> np.ndarray:
    """theta_k = (1/k)^eta for ranks 1..k: (k,) float64."""
    return (1.0 / np.arange(1, k + 1, dtype=np.float64)) ** eta


def click_probabilities(grades: np.ndarray, config: ClickConfig) -> np.ndarray:
    """P(click) of each exposed item, (N, K) float64; 0 on padding (grade -1). The ordered item gets 1."""
    theta = examination(grades.shape[1], config.eta)[None, :]
    by_grade = np.array([config.noise_floor, config.relevant_click_prob, config.target_click_prob])
    prob = theta * by_grade[np.clip(grades, 0, 2)]
    prob = np.where(grades == 2, 1.0, prob)
    return np.where(grades < 0, 0.0, prob)


def simulate_clicks(grades: np.ndarray, config: ClickConfig, rng: np.random.Generator) -> np.ndarray:
    """Clicks (N, K) int8 in {0, 1} for exposed items with graded truth ``grades`` (N, K; -1 = padding).

    Examination and click-given-examination are drawn separately, as in the model's generative story, so the
    same seed gives the same examined set whatever the click probabilities are.
    """
    theta = examination(grades.shape[1], config.eta)[None, :]
    examined = rng.random(grades.shape) < theta
    by_grade = np.array([config.noise_floor, config.relevant_click_prob, config.target_click_prob])
    attracted = rng.random(grades.shape) < by_grade[np.clip(grades, 0, 2)]
    clicks = (examined & attracted) | (grades == 2)
    return np.where(grades < 0, False, clicks).astype(np.int8)
