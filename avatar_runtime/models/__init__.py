"""Offline model files: what the embedded backends need, where they live, how they arrive."""
