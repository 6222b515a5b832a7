"""Tests of chainrule.utils."""
