"""Reporters: format diagnostics, never judge them."""
