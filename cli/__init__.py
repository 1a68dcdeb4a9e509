"""The `warehouse` command: every user-facing entry point, on top of all other packages."""
