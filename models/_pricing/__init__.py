"""Shared: which price applies to a model on a day. The environment overrides (overrides.py)
and the dated price book (book.py) over the default table and rule in `models/_costs.py`.
Imports no layer: it asks the registry through the `ModelNames` protocol it is handed."""
