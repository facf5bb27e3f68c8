"""The thread policy: where the count comes from (flag, environment, affinity, cgroup quota, workers, load), that
tiny-tensor blocks run on one thread, that a study records its count and restores its caller's threads, and that
worker processes and Ray tasks run with the policy's counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from archsearch.core import threads
from archsearch.core.errors import UserError
from archsearch.core.threads import ThreadPolicy, in_force, one_thread, resolve, usable_cores


SPIN = threads.SHORT_SPIN["GOMP_SPINCOUNT"]


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (threads.THREADS_ENV, threads.POLICY_ENV, *threads.USER_WAIT_SETTINGS):
        monkeypatch.delenv(name, raising=False)


def probe() -> dict[str, object]:
    """What a trial sees (run in workers and Ray tasks)."""
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return {"intra": torch.get_num_threads(), "inter": torch.get_num_interop_threads(),
            "omp": os.environ.get("OMP_NUM_THREADS"), "spin": os.environ.get("GOMP_SPINCOUNT"), "blas": blas}


def test_the_count_comes_from_the_flag_then_the_environment_then_cores_over_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(None, workers=2, cores=8).intra_op == 4
    assert resolve(None, workers=3, cores=2).intra_op == 1  # never below one
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert resolve(None, workers=2, cores=8) == ThreadPolicy(3, threads.THREADS_ENV)
    assert resolve(5, workers=2, cores=8) == ThreadPolicy(5, "--threads")


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", ""])
def test_a_bad_thread_count_is_a_user_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="positive whole number"):
        resolve(value)  # type: ignore[arg-type]
    if value:
        monkeypatch.setenv(threads.THREADS_ENV, value)
        with pytest.raises(UserError, match=threads.THREADS_ENV):
            resolve(None)


def test_policy_off_leaves_the_libraries_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.POLICY_ENV, "off")
    policy = resolve(4)
    assert not policy.enabled and policy.env() == {}
    before = torch.get_num_threads()
    with in_force(policy), one_thread():
        assert torch.get_num_threads() == before


def test_a_users_own_wait_policy_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ThreadPolicy(2, "test").env()["GOMP_SPINCOUNT"] == SPIN
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert "GOMP_SPINCOUNT" not in ThreadPolicy(2, "test").env()


def test_other_processes_busy_cores_lower_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 1.9)
    assert resolve(None, cores=2).intra_op == 2  # the load is looked at only when asked (a study's creation)
    policy = resolve(None, cores=2, sample_load=True)
    assert policy.intra_op == 1 and "1.9 busy" in policy.reason
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 0.2)
    assert resolve(None, cores=2, sample_load=True).intra_op == 2  # a core 80 % free counts as free
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 2.0)
    assert resolve(None, workers=2, cores=8, sample_load=True).intra_op == 3  # 6 free cores, 2 workers
    assert resolve(4, cores=2, sample_load=True).intra_op == 4  # a fixed count is kept


def test_busy_cores_of_others_takes_this_process_out(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([(100.0, 400.0), (250.0, 600.0)])  # 150 of 200 ticks busy on 2 cores: 1.5 cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(threads, "_cpu_ticks", lambda cpus: next(ticks))
    clock = iter([10.0, 11.0])  # this process used 0.5 s of CPU in the 1 s window
    cpu = iter([3.0, 3.5])
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(threads.time, "process_time", lambda: next(cpu))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    assert threads.busy_cores_of_others() == pytest.approx(1.0)


def test_busy_cores_of_others_reads_this_machine() -> None:
    assert 0.0 <= threads.busy_cores_of_others(0.05) <= usable_cores() + 0.1


def test_a_study_records_its_thread_count_for_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    from archsearch.config import StudyConfig
    from archsearch.store.memory import InMemoryStore
    from archsearch.study import Study

    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 1.0)
    store = InMemoryStore()
    training = {"strategy": "random", "max_trials": 2, "estimator": "train", "dataset": "digits"}
    study = Study.create(StudyConfig.from_mapping({"name": "t", **training}), store)
    assert study.config.threads == max(1, usable_cores() - 1) and store.get_experiment("t").config["threads"] == \
        study.config.threads
    fixed = Study.create(StudyConfig.from_mapping({"name": "u", **training, "threads": 3}), store)
    assert fixed.config.threads == 3 and fixed.thread_policy is None

    def no_sample() -> float:
        raise AssertionError("a table lookup does not need the machine's load")

    monkeypatch.setattr(threads, "busy_cores_of_others", no_sample)
    table = Study.create(StudyConfig.from_mapping({"name": "v", "strategy": "random", "max_trials": 2}), store)
    assert table.config.threads == usable_cores()


def test_usable_cores_follow_the_affinity_and_the_cgroup_quota(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(threads, "CGROUP_V2_MAX", str(quota))
    monkeypatch.setattr(threads, "CGROUP_V1_QUOTA", str(tmp_path / "none"))
    assert usable_cores() == 4  # no cgroup file: the affinity mask
    quota.write_text("max 100000\n")
    assert usable_cores() == 4
    quota.write_text("250000 100000\n")
    assert threads.cgroup_cpu_limit() == 2.5 and usable_cores() == 2
    quota.write_text("50000 100000\n")
    assert usable_cores() == 1  # half a core still runs one thread
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    quota.write_text("400000 100000\n")
    assert usable_cores() == 1


def test_one_thread_runs_torch_and_blas_on_one_thread_and_restores_them() -> None:
    with in_force(ThreadPolicy(2, "test")):
        with one_thread():
            assert probe()["intra"] == 1 and set(probe()["blas"]) <= {1}  # type: ignore[arg-type]
        assert torch.get_num_threads() == 2


def test_in_force_restores_the_callers_threads_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    with in_force(ThreadPolicy(3, "test")):
        seen = probe()
    assert seen["intra"] == 3 and seen["omp"] == "3" and seen["spin"] == SPIN
    assert torch.get_num_threads() == before and "OMP_NUM_THREADS" not in os.environ


def test_a_study_runs_its_strategy_on_one_thread_and_its_trials_under_the_policy() -> None:
    from archsearch.config import StudyConfig
    from archsearch.store.memory import InMemoryStore
    from archsearch.study import Study

    config = StudyConfig.from_mapping({"name": "t", "strategy": "reinforce", "max_trials": 4, "threads": 2})
    study = Study.create(config, InMemoryStore())
    seen: dict[str, list[int]] = {"ask": [], "evaluate": []}
    ask, evaluate = study.components.strategy.ask_trials, study.components.estimator.evaluate

    def ask_spy(n: int):  # type: ignore[no-untyped-def]
        seen["ask"].append(torch.get_num_threads())
        return ask(n)

    def evaluate_spy(*args):  # type: ignore[no-untyped-def]
        seen["evaluate"].append(torch.get_num_threads())
        return evaluate(*args)

    study.components.strategy.ask_trials = ask_spy  # type: ignore[method-assign]
    study.components.estimator.evaluate = evaluate_spy  # type: ignore[method-assign]
    before = torch.get_num_threads()
    study.run()
    assert set(seen["ask"]) == {1} and set(seen["evaluate"]) == {2}
    assert torch.get_num_threads() == before


def test_worker_processes_get_their_share_of_the_cores() -> None:
    from archsearch.execution.processes import ProcessExecutor

    with ProcessExecutor(2) as pool:
        default = [pool.submit(probe).result(timeout=120) for _ in range(2)]
    share = max(1, usable_cores() // 2)
    for seen in default:
        assert seen["intra"] == share and seen["omp"] == str(share)
        assert seen["spin"] == SPIN
        assert set(seen["blas"]) <= {share}  # type: ignore[arg-type]
    with ProcessExecutor(1, threads=1) as pool:  # a fixed count wins over the share (2 on 2 cores)
        assert pool.submit(probe).result(timeout=120)["intra"] == 1


def test_a_resume_trains_with_the_recorded_count_whatever_the_load_now(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    from archsearch.config import StudyConfig
    from archsearch.store.sqlite import SQLiteStore
    from archsearch.study import Study

    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 3.0)
    config = {"name": "t", "strategy": "random", "max_trials": 2, "estimator": "train", "dataset": "digits"}
    store = SQLiteStore(tmp_path / "runs.db", create=True)
    try:
        assert Study.create(StudyConfig.from_mapping(config), store).config.threads == 1  # 3 of 4 cores busy
        store.close()
        store = SQLiteStore(tmp_path / "runs.db", create=False)
        monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 0.0)
        assert Study.resume("t", store).config.threads == 1
        assert Study.resume("t", store, runtime={"threads": 2}).config.threads == 2  # a runtime key
    finally:
        store.close()


def test_ray_tasks_get_the_policys_threads() -> None:
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archsearch[ray]'")
    from archsearch.execution.ray import RayExecutor

    executor = RayExecutor(1, threads=2)  # a fixed count wins over the task's one CPU (Ray's own default: 1)
    try:
        seen = executor.submit(probe).result(timeout=120)
    finally:
        executor.shutdown()
    assert seen["intra"] == min(2, usable_cores()) and seen["omp"] == "2" and seen["spin"] == SPIN, seen
    assert set(seen["blas"]) <= {2}  # type: ignore[arg-type]
