"""Fused drop-in modules (filled by the residual family)."""
