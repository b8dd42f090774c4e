"""RTL-facing Python: simulator glue, fault sites, reuse-factor model (design.md sections 5-6)."""
