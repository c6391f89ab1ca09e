"""Test helpers shared across the suite (real servers on free ports, payload builders)."""
