"""The C build of the kernel is compiled once per machine and kept (fleetopt.evaluate.build_cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import needs_cc

import fleetopt.evaluate.build_cache as build_cache
import fleetopt.evaluate.kernel.cpu as kernel_cpu
from fleetopt import api
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.build_cache import BuildCache, cache_root
from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.kernel.shape import KernelShape


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("FLEETOPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "fleetopt"


def test_a_library_is_built_once_and_found_by_the_next_process(monkeypatch, tmp_path):
    """Two caches (two processes) asking for one key: the second finds the first's file, unbuilt;
    another key (other flags or source) is another file."""
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path))
    built = []

    def build(path):
        built.append(path)
        path.write_bytes(b"library")

    first = BuildCache("cc").library("flags\nsource", build)
    again = BuildCache("cc").library("flags\nsource", build)
    other = BuildCache("cc").library("flags\nanother source", build)
    assert first == again != other
    assert len(built) == 2 and first.read_bytes() == b"library"
    assert sorted(os.listdir(first.parent)) == sorted([first.name, other.name])  # no temporary left


def test_what_the_cache_keeps_is_readable_by_every_user(monkeypatch, tmp_path):
    """The Docker images share one cache folder (mode 1777) among whatever uids run them: a library
    and the compiler's settings kept there were mode 0600 (mkstemp's), so another user could neither
    read them nor, the folder being sticky, replace them. Each is readable by all; a build's own
    mode bits (an executable library) are kept."""
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path))
    cache = BuildCache("cc")

    def build(path):
        path.write_bytes(b"library")
        path.chmod(0o700)

    library = cache.library("key", build)
    cache.settings(lambda: {"flags": ["-O2"]})
    settings = next(cache.folder.glob("settings-*.json"))
    assert library.stat().st_mode & 0o777 == 0o744
    assert settings.stat().st_mode & 0o444 == 0o444


def test_a_failed_build_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path))

    def fails(path):
        path.write_bytes(b"half")
        raise RuntimeError("the C build of kernel.cu failed")

    cache = BuildCache("cc")
    with pytest.raises(RuntimeError):
        cache.library("key", fails)
    assert os.listdir(cache.folder) == []


@pytest.mark.parametrize("where", ["file", "/dev/null"])
def test_an_unwritable_cache_falls_back_to_a_folder_of_the_process_and_says_so(monkeypatch, tmp_path, where):
    """$FLEETOPT_CACHE_DIR set to a file or /dev/null fell back to a temporary folder with no word,
    so the kernel was built again by every run: a warning names the variable and the fallback."""
    blocked = tmp_path / where if where == "file" else Path(where)
    if where == "file":
        blocked.write_text("not a folder")
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(blocked))
    monkeypatch.setattr(build_cache, "_warned", set())  # none said yet in this process
    with pytest.warns(FleetoptWarning) as said:
        cache = BuildCache("cc")
        BuildCache("cc")  # the same process again: said once
    assert not str(cache.folder).startswith(str(blocked))
    assert cache.library("key", lambda p: p.write_bytes(b"x")).read_bytes() == b"x"
    (message,) = [str(w.message) for w in said if w.category is FleetoptWarning]
    assert f"$FLEETOPT_CACHE_DIR {blocked} cannot keep the kernel's builds" in message
    assert f"built in {cache.folder} for this process instead" in message


@needs_cc
def test_the_cpu_kernel_compiles_once_per_machine(monkeypatch, tmp_path):
    """A second CpuKernel (as in a second `fleetopt evaluate --backend cpu-kernel`) loads the first
    one's library and compiler settings: nothing is compiled or probed again."""
    monkeypatch.setenv("FLEETOPT_CACHE_DIR", str(tmp_path))
    _, data = api.load("tiny")
    shape = KernelShape.of_model(data)
    path = CpuKernel(threads=1).library(shape)._name
    calls = []
    monkeypatch.setattr(kernel_cpu, "build_library", lambda *a: calls.append("build"))
    monkeypatch.setattr(kernel_cpu, "flags_taken", lambda *a: calls.append("probe"))
    assert CpuKernel(threads=1).library(shape)._name == path
    assert calls == []
