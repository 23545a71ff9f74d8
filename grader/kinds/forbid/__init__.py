"""A check kind: its YAML model, how it prepares and judges, what runs in the child."""
