"""kehoach: engine/definitions."""
