"""The year simulator behind `kehoach simulate`: the live tick steps on a fake clock, a throwaway
ledger, captured mail and simulated agencies (see docs/simulate.md)."""
