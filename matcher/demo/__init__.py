"""The demo territory (Loire-Atlantique, Maine-et-Loire, Vendée) and benchmark-scale generators."""

from matcher.demo.build import generate, synth_candidates, synth_companies, write_csv

__all__ = ["generate", "synth_candidates", "synth_companies", "write_csv"]
