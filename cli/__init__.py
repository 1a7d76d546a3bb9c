"""kehoach: cli."""
