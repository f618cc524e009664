"""The model registry: one folder per trained ranker, a promoted model, and its history.

Layout under the models directory (``Settings.registry_dir()``: ``REPRISE_MODELS_DIR``, else the
``models`` folder beside a SQLite store; see ``models/README.md``)::

    <model_id>/model.joblib   the fitted LearnedRanker
    <model_id>/card.json      id, date, library versions, training-data hash, features,
                              parameters, metrics, the baseline's metrics, SHA-256 of model.joblib
    registry.json             {"models": {id: sha256}, "promoted": [ids, oldest first], "events": [...]}
    last_evaluation.json      the figures of the last ``reprise evaluate`` report, and where it is

The last id of ``promoted`` is the current model; ``rollback`` pops it, so the previous one (or
the transparent scorer, when none is left) serves again. A joblib file runs code when it is
loaded, so ``load`` checks the file's SHA-256 against the card and the registry, and the
scikit-learn version against the card, before it reads a byte of the pickle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import ModelRefused

if TYPE_CHECKING:
    from matcher.learning.scorer import LearnedScorer
    from matcher.ranking.score import Scorer

INDEX = "registry.json"
MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
EVALUATION = "last_evaluation.json"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _sklearn_version() -> str:
    # from the package metadata: importing scikit-learn itself costs half a second, which a
    # command using the transparent scorer (no model promoted) should not pay
    from importlib.metadata import version
    return version("scikit-learn")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions recorded on every card; scikit-learn must match exactly to load a model."""
    import platform

    import joblib
    import numpy
    import pandas
    import scipy
    out = {"python": platform.python_version(), "scikit-learn": _sklearn_version(),
           "numpy": numpy.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__,
           "pandas": pandas.__version__}
    from matcher import __version__
    out["reprise"] = __version__  # the code that trained it (installed metadata can lag behind a checkout)
    return out


def _write_json(path: Path, payload: Any) -> None:
    """Atomic write: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, indent=2, default=str)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Registry:
    """Models stored under one directory."""

    def __init__(self, models_dir: str | Path) -> None:
        self.root = Path(models_dir)

    # -- index ---------------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        path = self.root / INDEX
        if not path.exists():
            return {"models": {}, "promoted": [], "events": []}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelRefused(f"{path} is not valid JSON ({exc}); restore it from a backup") from exc

    def _save_index(self, index: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.root / INDEX, index)

    def promoted_id(self) -> str | None:
        """The id of the promoted model, or None when the transparent scorer serves."""
        promoted = self._index().get("promoted") or []
        return promoted[-1] if promoted else None

    def history(self) -> list[dict[str, Any]]:
        """Promotion and rollback events, oldest first."""
        return list(self._index().get("events", []))

    def clear(self) -> None:
        """Forget every model (the demo's fresh start): the index, the last evaluation and each
        folder holding a model card; any other file of the folder is left as it is."""
        import shutil
        if not self.root.is_dir():
            return
        for name in (INDEX, EVALUATION):
            (self.root / name).unlink(missing_ok=True)
        for sub in self.root.iterdir():
            if sub.is_dir() and ((sub / CARD_FILE).exists() or sub.name.startswith(".staging-")):
                shutil.rmtree(sub)

    # -- models ---------------------------------------------------------------------------
    def folder(self, model_id: str) -> Path:
        if not isinstance(model_id, str) or not _ID.match(model_id):
            raise ModelRefused(f"model id {model_id!r} is not valid; expected letters, digits, '.', '_' or '-'")
        path = self.root / model_id
        if not (path / CARD_FILE).exists():
            known = ", ".join(sorted(self._index().get("models", {}))) or "none"
            raise ModelRefused(f"model {model_id!r} is not in the registry {self.root} (known: {known})")
        return path

    def save(self, ranker: Any, card: dict[str, Any], *, prefix: str = "ranker") -> str:
        """Store a fitted ranker with its card; returns the new model id."""
        import joblib
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
        joblib.dump(ranker, staging / MODEL_FILE)
        digest = sha256_file(staging / MODEL_FILE)
        now = dt.datetime.now(dt.UTC)
        model_id = f"{prefix}-{now:%Y%m%d-%H%M%S}-{digest[:8]}"
        n = 1
        while (self.root / model_id).exists():
            n += 1
            model_id = f"{prefix}-{now:%Y%m%d-%H%M%S}-{digest[:8]}-{n}"
        full = {"id": model_id, "created": now.isoformat(timespec="seconds"),
                "library_versions": library_versions(), **card, "file": MODEL_FILE, "sha256": digest}
        _write_json(staging / CARD_FILE, full)
        os.chmod(staging, 0o755)
        os.replace(staging, self.root / model_id)
        index = self._index()
        index.setdefault("models", {})[model_id] = digest
        self._save_index(index)
        return model_id

    def card(self, model_id: str) -> dict[str, Any]:
        path = self.folder(model_id) / CARD_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelRefused(f"{path} is not valid JSON ({exc})") from exc

    def cards(self) -> list[dict[str, Any]]:
        """Every stored model's card, oldest first."""
        ids = sorted(p.name for p in self.root.iterdir() if (p / CARD_FILE).exists()) if self.root.exists() else []
        return sorted((self.card(i) for i in ids), key=lambda c: (c.get("created", ""), c["id"]))

    def verify(self, model_id: str) -> dict[str, Any]:
        """The card, once the model file's checksum and scikit-learn version are checked."""
        card = self.card(model_id)
        path = self.root / model_id / MODEL_FILE
        if card.get("id") != model_id:
            raise ModelRefused(f"model {model_id}: card.json names id {card.get('id')!r}; the card was moved or edited")
        made_with = (card.get("library_versions") or {}).get("scikit-learn")
        if made_with != _sklearn_version():
            raise ModelRefused(
                f"model {model_id} was made with scikit-learn {made_with}, this is scikit-learn "
                f"{_sklearn_version()}; refusing to load it (retrain with `reprise train`, or install "
                f"scikit-learn=={made_with})")
        if not path.exists():
            raise ModelRefused(f"model {model_id}: {path} is missing")
        actual = sha256_file(path)
        in_card, in_index = card.get("sha256"), self._index().get("models", {}).get(model_id)
        if actual != in_card or actual != in_index:
            raise ModelRefused(
                f"model {model_id}: {MODEL_FILE} has SHA-256 {actual}, but its card records {in_card} and "
                f"{INDEX} records {in_index}; refusing to load it (a joblib file runs code when loaded). "
                f"Restore the file, or roll back with `reprise models rollback`")
        return card

    def load(self, model_id: str) -> LearnedScorer:
        """The stored ranker, checked before unpickling (see ``verify``), ready to serve."""
        import joblib

        from matcher.learning.ranker import LearnedRanker
        from matcher.learning.scorer import LearnedScorer
        card = self.verify(model_id)
        ranker = joblib.load(self.root / model_id / MODEL_FILE)
        if not isinstance(ranker, LearnedRanker):
            raise ModelRefused(f"model {model_id}: {MODEL_FILE} holds a {type(ranker).__name__}, not a LearnedRanker")
        return LearnedScorer(ranker, model_id=model_id, card=card)

    def current_scorer(self) -> Scorer:
        """The promoted model, checked and loaded; the transparent scorer when none is promoted.

        Raises ``ModelRefused`` when the promoted model fails its checks.
        """
        model_id = self.promoted_id()
        if model_id is None:
            from matcher.ranking.score import TransparentScorer
            return TransparentScorer()
        return self.load(model_id)

    def last_good_scorer(self) -> tuple[Scorer, str | None]:
        """The promoted model when it passes its checks; else the newest earlier promotion that
        does, else the transparent scorer — with why the promoted one was refused (None when it
        serves). For a server that must start whatever state the registry is in."""
        try:
            return self.current_scorer(), None
        except ModelRefused as exc:
            refused = str(exc)
        promoted = (self._index().get("promoted") or [])[:-1]
        for model_id in reversed(promoted):
            try:
                return self.load(model_id), refused
            except ModelRefused:
                continue
        from matcher.ranking.score import TransparentScorer
        return TransparentScorer(), refused

    # -- evaluation -----------------------------------------------------------------------
    def record_evaluation(self, entry: dict[str, Any]) -> None:
        """Keep the figures of the latest evaluation report (shown to analysts in the web app)."""
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.root / EVALUATION, {"at": _now(), **entry})

    def last_evaluation(self) -> dict[str, Any] | None:
        """The figures of the latest evaluation report, or None when none was made."""
        path = self.root / EVALUATION
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelRefused(f"{path} is not valid JSON ({exc}); run `reprise evaluate` again") from exc

    # -- promotion ------------------------------------------------------------------------
    def promote(self, model_id: str, *, reason: str = "") -> bool:
        """Make a model the current one (it must pass its checks first); False if it already is."""
        self.verify(model_id)
        index = self._index()
        if (index.get("promoted") or [None])[-1] == model_id:
            return False
        index.setdefault("promoted", []).append(model_id)
        index.setdefault("events", []).append({"at": _now(), "action": "promote", "model": model_id,
                                               "reason": reason})
        self._save_index(index)
        return True

    def rollback(self) -> str | None:
        """Undo the last promotion; returns the model now current (None = transparent)."""
        index = self._index()
        promoted = index.get("promoted") or []
        if not promoted:
            raise ModelRefused("nothing to roll back: no model has been promoted (the transparent scorer serves)")
        undone = promoted.pop()
        current = promoted[-1] if promoted else None
        index.setdefault("events", []).append({"at": _now(), "action": "rollback", "model": undone,
                                               "now_current": current})
        self._save_index(index)
        return current


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
