import pytest

from fakeai.errors import ModelNotFoundError
from fakeai.modes.synthetic import catalogue
from fakeai.modes.synthetic.catalogue import BUILTIN_MODELS, Catalogue


def test_unknown_models_are_learnt_and_listed():
    cat = Catalogue()
    model = cat.require("acme/new-model-7b")
    assert model.owned_by == "acme" and model.root == "acme/new-model-7b"
    assert "acme/new-model-7b" in {m.id for m in cat.list()}


def test_strict_catalogue_refuses_unknown_models():
    with pytest.raises(ModelNotFoundError):
        Catalogue(strict=True).require("acme/new-model-7b")


def test_learnt_models_are_bounded(monkeypatch):
    monkeypatch.setattr(catalogue, "MAX_LEARNT", 3)
    cat = Catalogue()
    for i in range(10):
        assert cat.require(f"made-up-{i}").id == f"made-up-{i}"  # still served
    assert len(cat.list()) == len(BUILTIN_MODELS) + 3
