"""Domain logic with no I/O: value types and the decision policy."""
