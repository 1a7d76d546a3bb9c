"""kehoach: tasks."""
