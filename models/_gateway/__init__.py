"""The gateway (SPEC §14): every model behind one OpenAI-compatible HTTP endpoint, for teams.

A layer above the facade (`pip install 'models[gateway]'`): it serves HTTP with Starlette on
uvicorn and calls models through a `ModelsAPI` of its own; nothing below imports it.
"""
