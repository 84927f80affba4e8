"""Integrations with frameworks (optional extras)."""
