"""kehoach: flows."""
