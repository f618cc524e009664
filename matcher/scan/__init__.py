"""The daily scan: BODACC announcements (``signals``, ``judgments``) into cases placed and
enriched (``placing``, ``sirene``), ranked and stored (``daily``), and each pole's digest (``digest``)."""
