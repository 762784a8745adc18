"""Layer 1, what users hold: `ModelsAPI` (api.py), `ModelBinding`, `Router`. Turns keyword
arguments into a plan and hands it to the call path; owns no pricing, metrics or SDK calls."""
