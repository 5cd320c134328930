"""Development tools for riskengine: run from the repository root, not shipped in the package."""
