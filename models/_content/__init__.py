"""Shared: what a prompt may contain, validated into one normal form before anything is sent
(messages.py). New content types (tools, attachments) live here; each provider translates them."""
