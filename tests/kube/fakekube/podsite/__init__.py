"""Modules on the PYTHONPATH of every fake pod."""
