"""grbench: a reproducible benchmark for preference alignment of generative retrieval.

Data flow (DESIGN.md section 1):
public logs -> canonical tables -> click simulation -> splits -> SIDs -> tokenized examples
-> SFT -> preference methods -> beam search -> per-query metrics -> results -> tables.
"""

__version__ = "0.1.0"
