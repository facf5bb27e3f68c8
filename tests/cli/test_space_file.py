"""``--space-file``: a declared space searched, shown, resumed and exported end to end, without its file after the
search (the store carries the definition); bad files are one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archsearch.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spaces"
TINY = ["--estimator", "train", "--dataset", "digits", "--fidelity", "0.5", "--set", "estimator.measure=[params]",
        "--set", "estimator.batch_size=64", "--device", "cpu", "--quiet"]


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code)


def test_search_show_resume_export_without_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    space_file = tmp_path / "space.yaml"
    shutil.copy(EXAMPLES / "chain.yaml", space_file)
    store = str(tmp_path / "runs.db")
    assert main(["search", "--space-file", str(space_file), "--max-trials", "2", "--store", store, "--name", "dc",
                 "--set", "estimator.net.stem_channels=4", *TINY]) == 0
    out = capsys.readouterr().out
    assert "on declared 'small-chain' (digits)" in out and "best arch:" in out
    space_file.unlink()  # from here on the store alone rebuilds the space
    assert main(["show", "dc", "--store", store, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["config"]["space"] == "declared" and document["config"]["space_file"] == str(space_file)
    assert document["config"]["space_options"]["name"] == "small-chain" and len(document["trials"]) == 2
    assert all(t["status"] == "ok" for t in document["trials"]), document["trials"]
    assert main(["show", "dc", "--store", store]) == 0
    assert '"block1":' in capsys.readouterr().out
    assert main(["resume", "dc", "--store", store, "--quiet"]) == 0
    assert "finished 'dc': 2 trials" in capsys.readouterr().out
    out_dir = tmp_path / "exported"
    assert main(["export", "dc", "--store", store, "--out-dir", str(out_dir), "--formats", "genotype"]) == 0
    genotype = json.loads((out_dir / "genotype.json").read_text())
    assert genotype["space"] == "declared" and genotype["space_options"]["kind"] == "chain"
    assert json.dumps(genotype["arch"], separators=(",", ":")) == document["best"]["arch"]


def test_cell_space_with_worker_processes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["search", "--space-file", str(EXAMPLES / "cell.yaml"), "--strategy", "random", "--max-trials", "2",
                 "--executor", "processes", "--workers", "2", "--store", store, "--name", "cells",
                 "--set", "estimator.net.channels=4", *TINY]) == 0
    capsys.readouterr()
    assert main(["show", "cells", "--store", store, "--json"]) == 0
    trials = json.loads(capsys.readouterr().out)["trials"]
    assert len(trials) == 2 and all(t["status"] == "ok" for t in trials), trials


def test_train_a_declared_arch_and_export_its_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    checkpoint = tmp_path / "best.pt"
    arch = '{"block1":"conv3x3","block2":"identity","block3":"mbconv_k3_e3","block4":"identity","width":1}'
    assert main(["train", "--space-file", str(EXAMPLES / "chain.yaml"), "--arch", arch, "--dataset", "digits",
                 "--epochs", "0.3", "--device", "cpu", "--set", "net.stem_channels=4", "--set", "measure=[params]",
                 "--out", str(checkpoint)]) == 0
    capsys.readouterr()
    assert main(["export", "--checkpoint", str(checkpoint), "--out-dir", str(tmp_path / "out"),
                 "--formats", "torchscript,genotype"]) == 0
    assert (tmp_path / "out" / "model.torchscript.pt").is_file()


@pytest.mark.parametrize("content, extra, expected", [
    (None, [], "space file not found"),
    ("kind: chain\ndims: {a: [conv3x3, sep_conv_5x5\n", [], "is not valid YAML/JSON"),
    ("kind: chain\ndims: {a: [conv3x3, conv9x9]}\n", [], "unknown op 'conv9x9'"),
    ("kind: chain\ndims: {a: [conv3x3, sep_conv_5x5], b: [1, 2]}\nlayers: [a]\n", [], "dim 'b' is not used"),
    ((EXAMPLES / "chain.yaml").read_text(), ["--space", "nb201"], "cannot be combined with --space nb201"),
], ids=["missing", "bad yaml", "unknown op", "unused dim", "with --space"])
def test_bad_space_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, content: str | None,
                                           extra: list[str], expected: str) -> None:
    path = tmp_path / "space.yaml"
    if content is not None:
        path.write_text(content)
    store = tmp_path / "runs.db"
    code = run_cli(["search", "--space-file", str(path), *extra, "--max-trials", "1", "--store", str(store), *TINY])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err, err
    assert not store.exists()


def test_declared_space_without_a_definition(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = run_cli(["search", "--space", "declared", "--max-trials", "1", "--store", str(tmp_path / "r.db"), *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "needs a definition: give --space-file" in err and len(err.strip().splitlines()) == 1
