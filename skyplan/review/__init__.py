"""Reviewing plans: markdown for pull requests (and, later, diffs of two plans)."""
