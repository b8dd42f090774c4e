"""Tables and plots (matplotlib only here and in the CLI)."""
