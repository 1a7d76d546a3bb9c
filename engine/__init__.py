"""kehoach: engine."""
