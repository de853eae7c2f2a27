"""comment-moderation: score, store, decide and review reader comments."""

__version__ = "0.1.0"
