"""The leaderboard as a static website: boards, method pages, paper tables, data cards, how to submit.

    from benchmark.site import build_site
    build_site("results", "build/site")      # -> build/site/index.html

A pure function of the stored results (no server, no network at view time, byte-identical on rerun). Data
flow: ``collect`` reads boards (the tables' CSV cells and marks), runs and accepted submissions; ``board``,
``methods`` and ``documents`` render pages through ``layout`` and ``escape``; ``build`` writes the tree.
"""

from benchmark.site.build import MARKER, SiteSummary, build_site, render_pages

__all__ = ["MARKER", "SiteSummary", "build_site", "render_pages"]
