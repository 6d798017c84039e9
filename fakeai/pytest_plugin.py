"""The pytest plugin (registered through the ``pytest11`` entry point).

Filled in by the cassette workflow work; an installed FakeAI must always load cleanly here.
"""
