"""Routine files: the format, validation with file:line:col errors, and loading."""
