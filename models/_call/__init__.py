"""Layer 2, one call: `ModelService` (service.py) validates, holds budgets and limits, retries,
falls back, prices and records a call for every call form; the facade above, the registry and
providers below (ARCHITECTURE.md, "Layers and contracts")."""
