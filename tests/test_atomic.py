"""srllm.atomic: a failed write leaves the old file or folder in place and no temporary behind."""

import pytest

from srllm.atomic import atomic_file, atomic_folder, write_json_atomic


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and oct(target.stat().st_mode & 0o777) == "0o644"


def test_atomic_folder_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError
    assert (target / "weights").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model"]
    with atomic_folder(target) as tmp:
        (tmp / "config").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["config"]


def test_write_json_atomic_keeps_text_and_nan(tmp_path):
    path = tmp_path / "a" / "r.json"
    write_json_atomic(path, {"t": "café", "x": float("nan")})
    assert path.read_text(encoding="utf-8") == '{\n "t": "café",\n "x": NaN\n}\n'
