"""Check kinds, one folder each."""
