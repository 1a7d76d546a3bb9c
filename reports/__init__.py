"""kehoach: reports."""
