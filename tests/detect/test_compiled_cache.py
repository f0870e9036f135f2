"""Compiled Hyperscan databases kept in a cache folder: reused, and never a source of errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_apisec.compiled_cache import FolderCache, default_cache
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.engine import BACKEND
from otel_apisec.testing import make_exchange

pytestmark = pytest.mark.skipif(BACKEND != "hyperscan", reason="only Hyperscan databases are cached")
EXCHANGE = make_exchange("https://h/search?q=1'+OR+'1'='1", response_json={"email": "jane.doe@example.org"})


def _findings(analyzer: Analyzer) -> list[tuple[str, str]]:
    return [(f.rule_id, f.location) for f in analyzer.analyze(EXCHANGE).findings]


class TestFolderCache:
    def test_databases_are_stored_then_loaded(self, tmp_path: Path) -> None:
        """A first Analyzer stores its databases; a later one loads them and finds the same."""
        config = DetectConfig(hmac_key=b"k")
        expected = _findings(Analyzer(config))
        _findings(Analyzer(config, compiled_cache=FolderCache(tmp_path)))
        stored = sorted(tmp_path.glob("*.hsdb"))
        assert len(stored) == 4  # joined and single-match databases, for each direction

        class Spy(FolderCache):
            loaded = 0

            def get(self, key: str) -> bytes | None:
                data = super().get(key)
                Spy.loaded += data is not None
                return data

        assert _findings(Analyzer(config, compiled_cache=Spy(tmp_path))) == expected
        assert Spy.loaded == 4

    def test_corrupt_entry_is_recompiled_and_replaced(self, tmp_path: Path) -> None:
        """Garbage in the cache costs a compile, not an error, and is overwritten."""
        config = DetectConfig(hmac_key=b"k")
        _findings(Analyzer(config, compiled_cache=FolderCache(tmp_path)))
        for entry in tmp_path.glob("*.hsdb"):
            entry.write_bytes(b"not a database")
        assert _findings(Analyzer(config, compiled_cache=FolderCache(tmp_path)))
        assert all(entry.read_bytes() != b"not a database" for entry in tmp_path.glob("*.hsdb"))

    def test_unwritable_folder_is_ignored(self, tmp_path: Path) -> None:
        """A cache path that cannot be created does not stop the analyzer."""
        blocker = tmp_path / "file"
        blocker.write_text("x")
        assert _findings(Analyzer(DetectConfig(hmac_key=b"k"), compiled_cache=FolderCache(blocker / "sub")))

    def test_environment_selects_or_disables_the_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_APISEC_CACHE_DIR names the folder, `off` disables caching."""
        monkeypatch.setenv("OTEL_APISEC_CACHE_DIR", str(tmp_path))
        cache = default_cache()
        assert cache is not None and cache.folder == tmp_path
        monkeypatch.setenv("OTEL_APISEC_CACHE_DIR", "off")
        assert default_cache() is None
