"""Estimation of the hidden total by multiple systems estimation."""
