"""The original paper's claims, checked against this run's numbers.json (``dynatree claims``)."""
