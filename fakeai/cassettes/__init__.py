"""Cassette tooling: what a person (or a test run) does with recorded cassettes outside the server.

- ``cli`` / ``cli_files`` / ``options``: ``fakeai cassettes list|show|delete|prune|stats|scan|export|import``
- ``view``: tables, sizes, dates and streams rendered for a terminal
- ``encoding`` / ``document`` / ``directory``: the reviewable JSON file format (exact bytes <-> readable
  values, one document per cassette, directories of them exported and imported)
- ``scan``: secrets in stored requests and answers
- ``server_process`` / ``pytest_plugin``: a real ``fakeai serve`` on a free port, and the ``fakeai_server``
  fixture (the ``pytest11`` entry point ``fakeai``)

Nothing here is imported by the server's request path.
"""
