"""Training tools for the command model: voices, data, fitting, calibration (not installed)."""
