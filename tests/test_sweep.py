"""Sweeps: the spec expands in the documented order with SeedSequence.spawn seeds; a Dask LocalCluster gives the
same table as the serial run, bit for bit; an interrupted sweep resumes to the same table; bad specs fail with one
line; the command line writes the table and the heatmap."""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analytic import sweep as S
from analytic.sweep import executors
from analytic.errors import AnalyticError, ClusterError, SweepSpecError

from hang_guard import guard

ROOT = Path(__file__).resolve().parents[1]

#: 8 tasks = 2 activations x 2 sigma_w2 x 1 sigma_b2 x 1 depth x 2 widths: chain and wide net, and ReLU, whose
#: chains have exactly-zero products. (One sigma_b2 keeps the critical line to one point per activation.)
SMALL = {"activations": ["tanh", "relu"], "sigma_w2": [1.0, 2.5], "sigma_b2": [0.05], "depth": [4],
         "width": [1, 6], "samples": 500, "batch": 4, "networks": 2, "seed": 7}


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module: 2 worker processes, 1 thread each, loopback only, no dashboard."""
    import distributed  # noqa: F401 - in the test extra: a missing Dask is a failure, not a skip

    cl = S.local_cluster(2)
    yield cl.scheduler_address
    cl.close()


@pytest.fixture(scope="module")
def spec() -> S.SweepSpec:
    return S.SweepSpec.from_mapping(SMALL)


@pytest.fixture(scope="module")
def reference(spec, tmp_path_factory) -> Path:
    """The uninterrupted serial run: the table every other run must reproduce."""
    out = tmp_path_factory.mktemp("serial")
    result = S.run_sweep(spec, out, serial=True)
    assert (result.computed, result.reused) == (spec.n_tasks, 0)
    return out


# ---------------------------------------------------------------- the spec

def test_expansion_order_seeds_and_weights(spec):
    tasks = spec.tasks()
    assert spec.n_tasks == len(tasks) == 8
    expected = list(itertools.product(SMALL["activations"], SMALL["sigma_w2"], SMALL["sigma_b2"], SMALL["depth"],
                                      SMALL["width"]))
    assert [(t.activation, t.sigma_w2, t.sigma_b2, t.depth, t.width) for t in tasks] == expected
    children = np.random.SeedSequence(SMALL["seed"]).spawn(len(tasks))
    for task, child in zip(tasks, children):
        assert task.index == tasks.index(task)
        assert task.seed == int(child.generate_state(1, np.uint64)[0])
        assert task.seed_sequence.spawn_key == child.spawn_key == (task.index,)
    assert len({t.seed for t in tasks}) == len(tasks)
    from analytic.distributions import distribution

    for task in tasks:  # Var(w) = sigma_w^2 (chain) or sigma_w^2 / n (wide); Var(b) = sigma_b^2
        var_w = float(distribution(task.weights).moments().mean_square)
        assert var_w == pytest.approx(task.sigma_w2 / task.width, rel=1e-14)
        assert float(distribution(task.bias).moments().mean_square) == pytest.approx(task.sigma_b2, rel=1e-14)
    assert S.SweepSpec.from_mapping({**SMALL, "sigma_b2": 0.0}).tasks()[0].bias is None


def test_ranges_are_linspace_and_the_hash_follows_the_spec():
    spec = S.SweepSpec.from_mapping({"activations": "tanh", "sigma_w2": {"start": 0.5, "stop": 3.0, "num": 6}})
    assert spec.sigma_w2 == tuple(np.linspace(0.5, 3.0, 6))
    assert spec.hash == S.SweepSpec.from_mapping({"activations": ["tanh"], "sigma_w2": list(spec.sigma_w2)}).hash
    assert spec.hash != S.SweepSpec.from_mapping({"activations": "tanh", "sigma_w2": list(spec.sigma_w2),
                                                  "seed": 1}).hash


BAD = [
    ({**SMALL, "width": [1, 20_000]}, "weight matrix of a wide task"),
    ({**SMALL, "width": [2000], "batch": 100_000, "depth": [2]}, "derivatives of a wide task"),
    ({**SMALL, "sigma_w2": [[[[[1.0]]]]]}, "nested more than"),
    ({**SMALL, "sigma_w": [1.0]}, "unknown key 'sigma_w'"),
    ({**SMALL, "depth": []}, "depth is empty"),
    ({**SMALL, "activations": []}, "activations is empty"),
    ({**SMALL, "sigma_w2": {"start": 3.0, "stop": 1.0, "num": 4}}, "above stop"),
    ({**SMALL, "sigma_w2": {"start": 1.0, "stop": 2.0, "num": 0}}, "num must be between 1 and"),
    ({**SMALL, "sigma_w2": {"start": 1.0, "stop": 2.0}}, "start, stop, num"),
    ({**SMALL, "sigma_w2": [0.0]}, r"sigma_w2 must be in \(0, "),
    ({**SMALL, "sigma_b2": [-0.1]}, r"sigma_b2 must be in \[0, "),
    ({**SMALL, "sigma_w2": [1.0, "2"]}, "must be a number"),
    ({**SMALL, "sigma_w2": [1.0, float("inf")]}, "must be a finite number"),
    ({**SMALL, "depth": [0]}, "depth must be between 1 and"),
    ({**SMALL, "depth": [2.5]}, "must be an integer"),
    ({**SMALL, "depth": [10.0]}, "depth must be an integer, got 10.0"),
    ({**SMALL, "samples": 100.0}, "samples must be an integer, got 100.0"),
    ({**SMALL, "sigma_w2": {"start": 1.0, "stop": 2.0, "num": 3.0}}, "num must be an integer"),
    ({**SMALL, "width": [1, 1]}, "lists 1 twice"),
    ({**SMALL, "seed": True}, "seed must be an integer"),
    ({**SMALL, "samples": 1}, "samples must be"),
    ({"sigma_w2": [1.0]}, "missing activations"),
    ({**SMALL, "sigma_w2": {"start": 0.1, "stop": 3.0, "num": 20_000}, "depth": [1, 2, 3]}, "exceed the limit"),
]


@pytest.mark.parametrize("mapping, message", BAD, ids=[m for _, m in BAD])
def test_bad_specs_fail_with_one_line(mapping, message):
    with pytest.raises(SweepSpecError, match=message) as info:
        S.SweepSpec.from_mapping(mapping)
    assert "\n" not in str(info.value) and isinstance(info.value, AnalyticError)


def test_bad_files_and_activations(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("activations = [tanh\n")
    with pytest.raises(SweepSpecError, match="not valid TOML"):
        S.load_spec(bad_toml)
    with pytest.raises(SweepSpecError, match="cannot read sweep spec"):
        S.load_spec(tmp_path / "missing.toml")
    with pytest.raises(AnalyticError, match="no_such_act"):
        S.load_spec(None, {"activations": "no_such_act", "sigma_w2": "1"})
    spec = S.load_spec(None, {"activations": "tanh,relu", "sigma_w2": "0.5:3:6", "sigma_b2": "0,0.05",
                              "depth": "10,50", "seed": "3"})
    assert spec.activations == ("tanh", "relu") and spec.sigma_w2 == tuple(np.linspace(0.5, 3, 6))
    assert spec.sigma_b2 == (0.0, 0.05) and spec.depth == (10, 50) and spec.seed == 3
    spec = S.load_spec(None, {"activations": "relu, Max(x, 0.1*x)", "sigma_w2": "2"})
    assert spec.activations == ("relu", "Max(x, 0.1*x)")
    assert [S.heatmap_file(spec, a, w) for a, w in (("relu", 1), ("Max(x, 0.1*x)", 64))] == \
           ["heatmap_relu_chain.png", "heatmap_formula2_width64.png"]


def test_the_example_spec_is_valid():
    spec = S.load_spec(ROOT / "examples" / "sweep.toml")
    assert spec.n_tasks == math.prod(spec.shape) > 1


# ---------------------------------------------------------------- the numbers

def test_rows_are_the_library_functions_at_the_derived_seed(spec, reference):
    """Each row is simulate_chain / simulate_wide / mean_field called directly with the task's seed and specs."""
    from analytic.theory.meanfield import mean_field
    from analytic.mc import simulate_chain, simulate_wide

    rows = json.loads((reference / "results.json").read_text())["rows"]
    assert [r["index"] for r in rows] == list(range(spec.n_tasks))
    seeds = np.random.SeedSequence(SMALL["seed"]).spawn(spec.n_tasks)
    chain = next(r for r in rows if r["width"] == 1 and r["activation"] == "tanh")
    seed = int(seeds[chain["index"]].generate_state(1, np.uint64)[0])
    sim = simulate_chain("tanh", 4, f"normal(0, {math.sqrt(chain['sigma_w2'])})", samples=500, seed=seed,
                         bias=f"normal(0, {math.sqrt(chain['sigma_b2'])})", progress=False)
    assert chain["log_grad"] == pytest.approx(2 * sim.log_mean.value, rel=1e-12)
    wide = next(r for r in rows if r["width"] == 6 and r["activation"] == "tanh")
    seed = int(seeds[wide["index"]].generate_state(1, np.uint64)[0])
    w = simulate_wide("tanh", 4, 6, f"normal(0, {math.sqrt(wide['sigma_w2'] / 6)})",
                      bias=f"normal(0, {math.sqrt(wide['sigma_b2'])})", batch=4, networks=2, seed=seed)
    assert wide["log_grad"] == pytest.approx(w.mean_log_norm2[0].value - w.mean_log_norm2[-1].value, rel=1e-12)
    mf = mean_field("tanh", wide["sigma_w2"], wide["sigma_b2"])
    assert wide["chi1"] == pytest.approx(mf.chi1, rel=1e-12)
    assert wide["log_chi1_depth"] == pytest.approx(4 * math.log(mf.chi1), rel=1e-12)


def test_csv_holds_the_json_rows(reference):
    rows = json.loads((reference / "results.json").read_text())["rows"]
    with open(reference / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(S.COLUMNS) and len(table) == len(rows)
    for text, row in zip(table, rows):
        for key in ("sigma_w2", "log_grad", "chi1", "q_star"):
            if isinstance(row[key], float):
                assert float(text[key]) == row[key]  # shortest round-trip repr: exact
        assert int(text["seed"]) == row["seed"]


def test_provenance(spec, reference):
    table = json.loads((reference / "results.json").read_text())
    prov = table["provenance"]
    assert prov["spec"] == spec.as_dict() and prov["root_seed"] == SMALL["seed"] and prov["spec_hash"] == spec.hash
    assert {"analytic", "numpy", "scipy", "sympy", "dask"} <= set(prov["versions"])
    assert prov["versions"]["numpy"] == np.__version__
    assert all(r["seed_entropy"] == SMALL["seed"] and r["seed_spawn_key"] == [r["index"]] for r in table["rows"])
    assert set(table["critical_line"]) == set(SMALL["activations"])


# ---------------------------------------------------------------- Dask, bit for bit, and resuming

def test_local_cluster_equals_serial_bit_for_bit(spec, reference, cluster, tmp_path):
    result = S.run_sweep(spec, tmp_path, scheduler=cluster)
    assert (result.computed, result.reused) == (spec.n_tasks, 0)
    for name in ("results.json", "results.csv"):
        assert (tmp_path / name).read_bytes() == (reference / name).read_bytes(), name
    assert [json.loads(S.task_path(tmp_path, i).read_text()) for i in range(spec.n_tasks)] == \
           [json.loads(S.task_path(reference, i).read_text()) for i in range(spec.n_tasks)]


def test_the_default_local_cluster_gives_the_same_table(spec, reference, tmp_path):
    """No scheduler given: run_sweep starts its own LocalCluster (2 processes), and closes it."""
    result = S.run_sweep(spec, tmp_path, n_workers=2)
    assert result.computed == spec.n_tasks
    assert (tmp_path / "results.json").read_bytes() == (reference / "results.json").read_bytes()


def test_workers_with_other_versions_are_refused():
    class Workers:
        def __init__(self, answer):
            self.answer = answer

        def run(self, function):
            return self.answer

    with pytest.raises(ClusterError, match="numpy 0.0"):
        executors.check_worker_versions(Workers({"tcp://w:1": {**S.versions(), "numpy": "0.0"}}), "tcp://s:1")
    with pytest.raises(ClusterError, match="no workers"):
        executors.check_worker_versions(Workers({}), "tcp://s:1")
    executors.check_worker_versions(Workers({"tcp://w:1": S.versions()}), "tcp://s:1")


class Killed(Exception):
    pass


def test_a_killed_sweep_resumes_to_the_same_table(spec, reference, cluster, tmp_path):
    done_at_kill = []

    def kill_after_three(done: int, total: int) -> None:
        if done >= 3:
            done_at_kill.append(done)
            raise Killed

    with pytest.raises(Killed):
        S.run_sweep(spec, tmp_path, scheduler=cluster, progress=kill_after_three)
    stored = sorted(int(p.stem) for p in (tmp_path / "tasks").glob("*.json"))
    assert len(stored) == done_at_kill[0] == 3
    assert not (tmp_path / "results.json").exists() and not list((tmp_path / "tasks").glob(".*"))
    result = S.run_sweep(spec, tmp_path, scheduler=cluster)
    assert (result.computed, result.reused) == (spec.n_tasks - 3, 3)
    assert (tmp_path / "results.json").read_bytes() == (reference / "results.json").read_bytes()

    # lose two task files, garble a third: exactly those are recomputed, serially this time
    S.task_path(tmp_path, 1).unlink()
    S.task_path(tmp_path, 6).unlink()
    S.task_path(tmp_path, 4).write_text('{"spec_hash": "')
    result = S.run_sweep(spec, tmp_path, serial=True)
    assert (result.computed, result.reused) == (3, spec.n_tasks - 3)
    assert (tmp_path / "results.json").read_bytes() == (reference / "results.json").read_bytes()
    assert (tmp_path / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()


def test_task_files_of_another_spec_are_recomputed(spec, reference, tmp_path):
    other = S.SweepSpec.from_mapping({**SMALL, "seed": SMALL["seed"] + 1, "activations": ["tanh"]})
    S.run_sweep(other, tmp_path, serial=True)
    result = S.run_sweep(spec, tmp_path, serial=True)
    assert (result.computed, result.reused) == (spec.n_tasks, 0)
    assert (tmp_path / "results.json").read_bytes() == (reference / "results.json").read_bytes()


def test_hand_edited_task_files_are_recomputed_on_resume(spec, reference, tmp_path):
    import shutil

    shutil.copytree(reference / "tasks", tmp_path / "tasks")
    edits = {0: ("chi1", float("nan")), 1: ("log_grad", "lots"), 2: ("sigma_w2", 99.0), 3: ("seed_spawn_key", "x")}
    for index, (column, value) in edits.items():
        path = tmp_path / "tasks" / f"{index}.json"
        data = json.loads(path.read_text())
        data["row"][column] = value
        path.write_text(json.dumps(data))  # NaN is written as the bare token NaN, as a hand edit might
    (tmp_path / "tasks" / "4.json").write_text('{"spec_hash": ')  # cut short
    result = S.run_sweep(spec, tmp_path, serial=True)
    assert (result.computed, result.reused) == (5, spec.n_tasks - 5)
    assert (tmp_path / "results.json").read_bytes() == (reference / "results.json").read_bytes()


def test_spec_files_that_never_end_are_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    for path, message in (("/dev/zero", "not a regular file"), (fifo, "not a regular file"),
                          (tmp_path, "not a regular file")):
        with pytest.raises(SweepSpecError, match=message):
            S.load_spec(path)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * S.MAX_SPEC_BYTES + "\n")
    with pytest.raises(SweepSpecError, match="longer than"):
        S.load_spec(big)


def test_a_failed_connection_leaves_no_folder_and_no_progress(spec, tmp_path):
    calls = []
    with pytest.raises(ClusterError):
        S.run_sweep(spec, tmp_path / "out", scheduler="tcp://127.0.0.1:1", progress=lambda *a: calls.append(a))
    assert not (tmp_path / "out").exists() and calls == []
    for address in ("ucx://127.0.0.1:1", "tls://127.0.0.1:1", "127.0.0.1", "tcp://:1", "tcp://h:99999"):
        with pytest.raises(ClusterError, match="not supported"):
            S.run_sweep(spec, tmp_path / "out", scheduler=address)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- heatmap and command line

def test_heatmap_data_pivots_the_rows(reference):
    table = json.loads((reference / "results.json").read_text())
    data = S.heatmap_data(table, activation="relu", width=6)
    assert data.depth == 4 and list(data.sigma_w2) == SMALL["sigma_w2"] and list(data.sigma_b2) == SMALL["sigma_b2"]
    for r in table["rows"]:
        if r["activation"] == "relu" and r["width"] == 6:
            i, j = SMALL["sigma_w2"].index(r["sigma_w2"]), SMALL["sigma_b2"].index(r["sigma_b2"])
            v = r["log_grad"]
            assert (data.values[j, i] == v) if isinstance(v, float) else math.isnan(data.values[j, i])
    from analytic.output.network_plotting import sweep_heatmap

    fig = sweep_heatmap(table, activation="relu", width=6)
    assert fig.axes[0].get_title().startswith("relu: depth")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_cli_serial_sweep_writes_table_and_heatmap(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('activations = ["relu"]\nsigma_w2 = [1.5, 2.5]\nsigma_b2 = [0.0, 0.1]\ndepth = [3]\n'
                    'samples = 300\nseed = 2\n')
    out = tmp_path / "out"
    proc = run("sweep", str(spec), "--serial", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["tasks"], data["computed"], data["reused"]) == (4, 4, 0)
    assert "sweep: 4/4 tasks" in proc.stderr
    heatmap = Path(data["heatmaps"][0])
    assert heatmap.name == "heatmap_relu_chain.png" and heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["sigma_w2"], r["sigma_b2"]) for r in rows] == [(1.5, 0.0), (1.5, 0.1), (2.5, 0.0), (2.5, 0.1)]
    assert [r["bias"] for r in rows] == [None, "normal(0, sqrt(0.1))", None, "normal(0, sqrt(0.1))"]
    assert (out / "results.csv").read_text().count("\n") == 5
    again = run("sweep", str(spec), "--serial", "--out", str(out), "--quiet")
    assert again.returncode == 0 and "0 computed, 4 reused" in again.stdout and again.stderr == ""


@pytest.mark.parametrize("args, message", [
    (("--act", "tanh", "--sigma-w2", "1", "--depth", "0"), "depth must be between 1 and"),
    (("--act", "tanh", "--sigma-w2", "3:1:4"), "above stop"),
    (("--act", "nope", "--sigma-w2", "1"), "nope"),
    ((), "give a SPEC file"),
])
def test_cli_bad_sweep_is_one_line(tmp_path, args, message):
    proc = run("sweep", "--serial", "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_orthogonal_weights_in_a_sweep():
    """weights = orthogonal gives wide tasks orthogonal(sqrt(sigma_w^2)) (sigma_w^2 = gain^2 as simulated), leaves
    the hash of Gaussian specs as it was, and is refused for the chain."""
    base = {"activations": "tanh", "sigma_w2": [1.5], "width": [8], "depth": [3]}
    g, o = S.SweepSpec.from_mapping(base), S.SweepSpec.from_mapping({**base, "weights": "orthogonal"})
    assert "weights" not in g.as_dict() and g.hash != o.hash
    task = o.tasks()[0]
    assert task.weights == "orthogonal(sqrt(1.5))"
    row = S.run_task(dataclasses.replace(task, batch=4, networks=2))
    assert row["weights"] == "orthogonal(sqrt(1.5))" and math.isfinite(row["log_grad"])
    from analytic.distributions import distribution
    assert distribution(task.weights).sigma_w2() == pytest.approx(1.5, rel=1e-15)
    with pytest.raises(SweepSpecError, match="needs width > 1"):
        S.SweepSpec.from_mapping({**base, "width": [1, 8], "weights": "orthogonal"})
    with pytest.raises(SweepSpecError, match="weights must be one of"):
        S.SweepSpec.from_mapping({**base, "weights": "uniform"})


# ---------------------------------------------------------------- hostile specs and schedulers

NESTED = [
    ("activations = " + "[" * 5000 + "]" * 5000, "nested too deeply"),          # the parser's recursion
    ("a = " + "{b = " * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
    ('activations = ["relu"]\nsigma_w2 = ' + "[" * 300 + "1" + "]" * 300, "nested"),
    ('activations = ["relu"]\nsigma_w2 = [[[[[1]]]]]', "nested more than"),       # parsed, refused before walked
    ('activations = ["relu"]\nsigma_w2 = [1]\n' + ".".join(["a"] * 100_000) + " = 1", "dotted parts"),
    ('activations = ["relu"]\nsigma_w2 = [1]\n[' + ".".join(['"a"'] * 100_000) + "]", "dotted parts"),
]


@pytest.mark.parametrize("text, message", NESTED, ids=[f"nested{i}" for i in range(len(NESTED))])
def test_deeply_nested_specs_are_one_line(tmp_path, text, message):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    with pytest.raises(SweepSpecError, match=message):
        S.load_spec(path)
    proc = run("sweep", str(path), "--serial", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_nesting_a_spec_needs_is_accepted(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('activations = ["relu"]  # a.b.c.d.e.f\nsigma_w2 = {start = 0.5, stop = 1.5, num = 3}\n'
                    'sigma_b2 = [0.0]\nweights = "gaussian"\n')
    assert S.load_spec(path).sigma_w2 == (0.5, 1.0, 1.5)
    S.SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": {"start": 1, "stop": 2, "num": 2}})


@pytest.fixture
def silent_server():
    """A loopback TCP server that accepts connections and never says a word (closed after the test)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


def test_a_silent_scheduler_is_refused_after_the_handshake_timeout(spec, tmp_path, silent_server, monkeypatch):
    address, accepted = silent_server
    monkeypatch.setattr(executors, "HANDSHAKE_SECONDS", 2.0)
    calls = []
    with guard(120), pytest.raises(ClusterError, match="did not complete the handshake within 2 s"):
        S.run_sweep(spec, tmp_path / "out", scheduler=address, progress=lambda *a: calls.append(a))
    assert accepted, "the client never connected: the test did not reach the handshake"
    assert not (tmp_path / "out").exists() and calls == []


def test_a_silent_scheduler_through_the_command_line(tmp_path, silent_server):
    address, _ = silent_server
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "sweep", "--act", "relu", "--sigma-w2", "1",
                           "--depth", "3", "--samples", "100", "--scheduler", address, "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"analytic: error: the Dask scheduler {address} did not complete the handshake "
                                   f"within {executors.HANDSHAKE_SECONDS:g} s")
    assert not (tmp_path / "o").exists()
