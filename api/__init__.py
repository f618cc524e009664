"""Reprise advisor API (FastAPI)."""
