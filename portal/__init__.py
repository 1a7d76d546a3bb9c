"""kehoach: portal."""
