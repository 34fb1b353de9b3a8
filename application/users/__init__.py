"""Profiles and user administration."""
