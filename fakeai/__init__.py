"""FakeAI: an OpenAI-compatible server with synthetic, record and replay modes."""

__version__ = "0.1.0"
__all__ = ["__version__"]
