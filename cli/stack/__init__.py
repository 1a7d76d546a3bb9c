"""The embedded stack behind `kehoach up`: a Prefect server, the served deployments, the portal
and the mail sink as child processes, and the live reload of the definitions."""
