"""kehoach: notifications."""
