"""Ledger tests (a package so test modules can import shared helpers from conftest)."""
