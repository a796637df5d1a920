"""A container's limits (fleetopt.evaluate.cgroups): `docker run --memory 8g --cpus 2.5` on a large
host. The run's threads and memory budget follow the container's limits, not the host's, read from
a stand-in control-group tree (v2, v1, none)."""

from __future__ import annotations

import pytest

from fleetopt.evaluate import backend, cgroups, resources

GB = 10**9


def tree(tmp_path, monkeypatch, groups: str, files: dict[str, str]) -> None:
    """A control-group file system at tmp_path/cg and a /proc/self/cgroup naming this process's groups."""
    root = tmp_path / "cg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self").write_text(groups)
    monkeypatch.setattr(cgroups, "ROOT", root)
    monkeypatch.setattr(cgroups, "SELF", tmp_path / "self")


def test_a_v2_container_limits_cores_and_memory(tmp_path, monkeypatch):
    # inside a container the unified hierarchy's root is the container's group: "0::/"
    tree(tmp_path, monkeypatch, "0::/\n", {
        "memory.max": str(8 * GB), "memory.current": str(3 * GB),
        "memory.stat": f"anon {2 * GB}\ninactive_file {GB}\n", "cpu.max": "250000 100000",
    })  # fmt: skip
    assert cgroups.cpu_limit_cores() == 3  # 2.5 CPUs: 3 threads, each may run part of the time
    assert cgroups.memory_limit_bytes() == 8 * GB
    assert cgroups.memory_used_bytes() == 2 * GB  # 3 GB less 1 GB of page cache it can give back
    assert backend.usable_cores() <= 3
    assert backend.available_ram_bytes() <= 6 * GB
    assert resources.physical_ram_bytes() == 8 * GB


def test_a_budget_above_the_containers_memory_is_capped_to_it(tmp_path, monkeypatch):
    tree(tmp_path, monkeypatch, "0::/\n", {"memory.max": str(8 * GB)})
    with pytest.warns(UserWarning, match=r"20 GB is more than the 8 GB of memory limit of this container"):
        assert resources.budget_within_memory(20 * GB, "numpy", "local", 1) == 8 * GB


def test_a_v1_group_reads_its_own_folder(tmp_path, monkeypatch):
    tree(tmp_path, monkeypatch, "4:memory:/job\n3:cpu,cpuacct:/job\n0::/\n", {
        "memory/job/memory.limit_in_bytes": str(4 * GB), "memory/job/memory.usage_in_bytes": str(GB),
        "cpu/job/cpu.cfs_quota_us": "200000", "cpu/job/cpu.cfs_period_us": "100000",
    })  # fmt: skip
    assert (cgroups.memory_limit_bytes(), cgroups.memory_used_bytes(), cgroups.cpu_limit_cores()) == (
        4 * GB, GB, 2)


@pytest.mark.parametrize("files", [
    {"memory.max": "max", "cpu.max": "max 100000"},  # v2, no limit
    {"memory/memory.limit_in_bytes": "9223372036854771712", "cpu/cpu.cfs_quota_us": "-1"},  # v1, none
    {},  # nothing readable (another platform)
])  # fmt: skip
def test_no_limit_leaves_the_hosts_figures(tmp_path, monkeypatch, files):
    tree(tmp_path, monkeypatch, "4:memory:/\n3:cpu:/\n0::/\n", files)
    assert (cgroups.memory_limit_bytes(), cgroups.cpu_limit_cores()) == (None, None)
    assert resources.physical_ram_bytes() is None or resources.physical_ram_bytes() > 8 * GB


def test_a_limit_on_a_group_above_the_process_binds_it(tmp_path, monkeypatch):
    """A Slurm job or a systemd slice sets its limit on a group above the process's own: the process
    in job_42/step_0 (no limit of its own) was sized by the host's memory and cores (from an
    operator's review). The smallest limit on the way up binds, with the usage of the group that
    sets it: 4 GB on job_42 (1 GB used) under 16 GB on the slice, 2 CPUs on job_42."""
    tree(tmp_path, monkeypatch, "0::/slice/job_42/step_0\n", {
        "slice/job_42/step_0/memory.max": "max", "slice/job_42/step_0/memory.current": str(GB // 10),
        "slice/job_42/step_0/cpu.max": "max 100000",
        "slice/job_42/memory.max": str(4 * GB), "slice/job_42/memory.current": str(GB),
        "slice/job_42/cpu.max": "200000 100000",
        "slice/memory.max": str(16 * GB), "slice/cpu.max": "800000 100000",
    })  # fmt: skip
    assert (cgroups.memory_limit_bytes(), cgroups.memory_used_bytes(), cgroups.cpu_limit_cores()) == (
        4 * GB, GB, 2)
    assert backend.available_ram_bytes() <= 3 * GB
