"""Impact: what a restriction does to products, which re-sourcing helps, what changed."""
