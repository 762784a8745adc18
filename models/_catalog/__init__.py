"""Shared: what models exist and what they can do. `ModelInfo` (info.py), the rows (data.py),
the index that resolves ids (catalog.py), the facade's questions (queries.py) and the checks of
a call's needs against a model (capabilities.py). Imports no layer."""
