"""`--executor ray`: the same records as the local executor for the same seed, written by the driver alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evals.running.config import RunConfig
from evals.running.records import read_results
from evals.running.runner import execute_run
from tests.conftest import POLICIES, ROOT

ray = pytest.importorskip("ray", reason="the optional Ray extra is not installed: pip install -e '.[ray]'")
RETENTION = POLICIES / "retention_offers.md"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_a_ray_run_writes_the_same_records_as_a_local_run_of_the_same_seed(tmp_path, local_ray):
    personas = ["declines_everything", "discount_at_once", "holds_out_for_more", "picks_from_several_orders"]
    base = RunConfig(policies=[RETENTION], persona_ids=personas, trials=2, seed=5, cache_path=None, concurrency=4)
    execute_run(base.model_copy(update={"out": tmp_path / "local"}))
    execute_run(base.model_copy(update={"out": tmp_path / "ray", "executor": "ray"}))
    local = {r.key: r for r in read_results(tmp_path / "local")}
    remote = {r.key: r for r in read_results(tmp_path / "ray")}
    assert set(local) == set(remote) and len(remote) == 8
    for key, record in local.items():
        other = remote[key]
        assert (other.fingerprint, other.outcome, other.seed) == (record.fingerprint, record.outcome, record.seed)
        assert [(s.name, s.passed) for s in other.scores] == [(s.name, s.passed) for s in record.scores]
    lines = (tmp_path / "ray" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8  # one writer: no lost or doubled line


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path):
    script = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def no_ray(name, *a, **k):\n"
        "    if name == 'ray' or name.startswith('ray.'):\n"
        "        raise ImportError('No module named ray')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = no_ray\n"
        "from evals.cli import main\n"
        f"sys.exit(main(['run', '--policy', {str(RETENTION)!r}, '--executor', 'ray', '--no-cache',"
        f" '--out', {str(tmp_path / 'run')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pip install -e '.[ray]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
