"""What travels to workers: plugins, the spec's files (Prune's init_model_file) and the evaluator's data."""

import pickle

import fgir
from conftest import EXAMPLES
from fgir.search import Space, TrainEvaluator
from fgir.search.evaluators import Job
from fgir.search.executors import make_executor, spec_files
from fgir.search.executors.worker import Shipped, WorkerSetup, relocate, run_payload, worker_setup
from search_helpers import write_plugin

PRUNE = EXAMPLES / "search" / "prune_ratios_resnet20.yaml"


def test_a_shipped_file_is_its_original_where_it_exists_and_a_cached_copy_elsewhere(tmp_path, monkeypatch):
    import fgir.search.executors.worker as worker

    monkeypatch.setattr(worker, "CACHE", tmp_path / "cache")
    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    (data / "cat" / "a.png").write_bytes(b"png bytes")
    single = tmp_path / "dense.pt"
    single.write_bytes(b"checkpoint")
    shipped = [Shipped.of(single), Shipped.of(data)]
    assert [s.here() for s in shipped] == [str(single), str(data)]          # this machine has them
    single.unlink()
    (data / "cat" / "a.png").write_bytes(b"changed")                          # as another machine would not
    copies = [s.here() for s in shipped]
    assert copies[0] == str(tmp_path / "cache" / shipped[0].sha256 / "dense.pt")
    assert open(copies[0], "rb").read() == b"checkpoint"
    assert open(f"{copies[1]}/cat/a.png", "rb").read() == b"png bytes"


def test_the_spec_files_a_search_reads_travel_and_jobs_point_at_their_copies(tmp_path):
    space = Space.from_spec(PRUNE)
    dense = (EXAMPLES / "search" / "../resnet20_dense.pt").absolute()
    assert spec_files(space) == [str(dense)]          # absolute: anchored at the spec's folder
    text = space.freeze(space.initial(__import__("random").Random(0)))
    job = Job(text, evaluator=TrainEvaluator(data=str(tmp_path / "set.npz")))
    moved = {str(dense): "/cache/dense.pt", str(tmp_path / "set.npz"): "/cache/set.npz"}
    local = relocate(job, moved)
    assert "/cache/dense.pt" in local.spec_text and str(dense) not in local.spec_text
    assert local.evaluator.data == "/cache/set.npz" and job.evaluator.data == str(tmp_path / "set.npz")
    assert TrainEvaluator(data="digits").files() == [] and job.evaluator.files() == [str(tmp_path / "set.npz")]


def test_a_worker_loads_the_plugins_it_is_shipped_before_reading_its_job(tmp_path):
    plugin = write_plugin(tmp_path)
    setup = worker_setup([str(plugin)], [])
    assert [p.path for p in setup.plugins] == [str(plugin)] and setup.key
    fgir.plugins.load_plugin(str(plugin))
    from fgir.search import EVALUATORS

    job = Job((EXAMPLES / "resnet20_cifar.yaml").read_text(), evaluator=EVALUATORS["slow"]())
    row = run_payload(setup, pickle.dumps(job))
    assert row["status"] == "ok" and row["metrics"]["score"] == 272474 % 1000
    assert run_payload(WorkerSetup(), pickle.dumps(Job("search_space: {modules: [net], net: {type: Nope}}\n")))[
        "status"] == "invalid"


def test_an_unknown_executor_or_option_is_a_usage_error():
    import pytest

    from fgir.search import SearchUsageError

    space = Space.from_spec(EXAMPLES / "backbone_nas.yaml")
    with pytest.raises(SearchUsageError, match="--executor: unknown executor 'rey'"):
        make_executor("rey", space, None)
    with pytest.raises(SearchUsageError, match="--timeout: the local executor takes no option 'timeout'"):
        make_executor("local", space, None, options={"timeout": 3})


def test_two_plugin_files_of_one_name_both_reach_the_workers(tmp_path):
    # both load as module fgir_plugin_blocks: the second must not hide the first from the workers
    from fgir.plugins import forget_plugins, load_plugin, loaded_plugins

    files = []
    try:
        for folder, name in (("a", "FirstOfTwo"), ("b", "SecondOfTwo")):
            (tmp_path / folder).mkdir()
            path = tmp_path / folder / "blocks.py"
            path.write_text("from fgir.blocks import Block, ReLU, register_block\n\n"
                            f"@register_block\nclass {name}(Block):\n"
                            "    def constructor(self):\n        self.relu = ReLU()\n")
            load_plugin(str(path))
            files.append(path.resolve())
        assert loaded_plugins()[-2:] == files
    finally:
        forget_plugins()
