"""Beam-search decoding over fixed-length SIDs, unconstrained or trie-constrained (DESIGN.md section 6)."""

from benchmark.decoding.beam import Beam, PrefixCatalog, beam_search

__all__ = ["Beam", "PrefixCatalog", "beam_search"]
