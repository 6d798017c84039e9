"""The jsonl checks behind file status ``error``, and the time-ordered file ids."""

import json

from fakeai.modes.synthetic.files import check_jsonl, sortable_id

BATCH = {"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}


def lines(*records) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


def test_good_files_pass():
    assert check_jsonl(lines(BATCH, {**BATCH, "custom_id": "b"}) + b"\n\n", "batch") is None
    assert check_jsonl(lines({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}),
                       "fine-tune") is None


def test_each_problem_names_its_line():
    assert check_jsonl(b"", "batch") == "File is empty: expected one JSON object per line."
    assert check_jsonl(b"\xff\xfe", "batch").startswith("File is not valid UTF-8")
    assert check_jsonl(lines(BATCH, "", "{oops"), "batch").startswith("Line 3: invalid JSON")  # blank lines count
    assert check_jsonl(lines(BATCH, {**BATCH, "custom_id": "b", "method": "GET"}), "batch").startswith("Line 2: 'method'")
    assert check_jsonl(lines({**BATCH, "url": "embeddings"}), "batch").startswith("Line 1: 'url'")
    assert check_jsonl(lines({**BATCH, "custom_id": ""}), "batch").startswith("Line 1: missing 'custom_id'")
    assert check_jsonl(lines({"messages": []}), "fine-tune").startswith("Line 1: missing 'messages'")
    assert check_jsonl(lines({"messages": [{"role": "robot"}]}), "fine-tune") == (
        "Line 1: messages[0] has an unknown role 'robot'.")
    assert check_jsonl(lines({"messages": ["hi"]}), "fine-tune").startswith("Line 1: messages[0] must be an object")


def test_ids_sort_by_creation():
    ids = [sortable_id("file-") for _ in range(500)]
    assert ids == sorted(ids) and len(set(ids)) == 500
    assert all(len(i) == len("file-") + 24 for i in ids)
