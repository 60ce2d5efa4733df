"""The demo's directory: its size is reported, and it is kept or removed as asked."""

from __future__ import annotations

from creditx.demo.workdir import decide_keep, finish, human, tree_bytes


def test_size_counts_every_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"1" * 1500)
    (tmp_path / "y").write_bytes(b"2" * 500)
    assert tree_bytes(tmp_path) == 2000 and human(2000) == "2.0 kB" and human(249_000_000) == "249.0 MB"


def test_flags_win_then_the_answer_then_the_default():
    never = lambda prompt: (_ for _ in ()).throw(AssertionError("asked"))  # noqa: E731
    assert decide_keep(keep=True, clean=False, named=False, interactive=True, ask=never, prompt="") is True
    assert decide_keep(keep=False, clean=True, named=True, interactive=True, ask=never, prompt="") is False
    assert decide_keep(keep=False, clean=False, named=False, interactive=True, ask=lambda p: "keep", prompt="")
    assert not decide_keep(keep=False, clean=False, named=True, interactive=True, ask=lambda p: "clean", prompt="")
    assert decide_keep(keep=False, clean=False, named=True, interactive=True, ask=lambda p: "", prompt="")
    assert not decide_keep(keep=False, clean=False, named=False, interactive=False, ask=never, prompt="")
    assert decide_keep(keep=False, clean=False, named=True, interactive=False, ask=never, prompt="")


def test_finish_removes_a_temporary_directory_and_says_how_big_it_was(tmp_path):
    d = tmp_path / "demo"
    d.mkdir()
    (d / "f").write_bytes(b"x" * 1234)
    said: list[str] = []
    out = finish(d, keep=False, clean=False, named=False, interactive=False, say=said.append)
    assert out == {"dir": str(d), "bytes": 1234, "kept": False} and not d.exists()
    assert "1.2 kB" in said[0] and "--keep" in said[0]
