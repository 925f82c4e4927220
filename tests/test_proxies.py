"""Zero-cost proxies (fgir/search/evaluators/proxy.py): synflow against a hand computation, each proxy finite
and telling candidates apart, and the proxy evaluator from `fgir search --evaluator proxy`."""

import json
import math
import random

import pytest
import torch

import fgir
from conftest import EXAMPLES, run_fgir
from fgir.diagnostics import FgirError
from fgir.search import Space
from fgir.search.evaluators.proxy import PROXIES, ProxyEvaluator, grad_norm, naswot, synflow

MOBILENET = EXAMPLES / "search" / "supernet_mobilenet.yaml"


def test_synflow_equals_the_hand_computation_on_a_two_layer_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.ReLU(), torch.nn.Linear(3, 2, bias=False))
    w1, w2 = (m.weight.detach().double().clone() for m in (net[0], net[2]))
    # with |W| and an all-ones input: h = |W1| 1, R = 1ᵀ |W2| h; dR/dW2[k,i] = h_i, dR/dW1[i,j] = c_i where
    # c = the column sums of |W2|; so each layer's Σ|θ·dR/dθ| is Σ_i c_i h_i, and synflow twice that
    h, c = w1.abs().sum(1), w2.abs().sum(0)
    assert synflow(net, (4,)) == pytest.approx(2 * float((c * h).sum()), rel=1e-12)
    assert torch.equal(net[0].weight.detach(), w1) and torch.equal(net[2].weight.detach(), w2)   # signs restored


def test_naswot_and_grad_norm_on_a_hand_sized_case():
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.ReLU())
    # codes 10, 01, 11: K counts agreeing units: [[2, 0, 1], [0, 2, 1], [1, 1, 2]], det 2·3 - 0 + 1·(0 - 2) = 4
    assert naswot(net, x) == pytest.approx(math.log(4))
    linear = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        linear.weight.zero_()
    # zero weights: softmax is uniform, dL/dW = (1/2 - onehot(y))ᵀ x / n
    y = torch.tensor([0, 1, 0])
    expected = ((torch.full((3, 2), 0.5) - torch.nn.functional.one_hot(y, 2)).t() @ x / 3).norm()
    assert grad_norm(linear, x, y) == pytest.approx(float(expected))


@pytest.fixture(scope="module")
def candidates():
    space = Space.from_spec(MOBILENET)
    rng = random.Random(1)
    return [fgir.compile(fgir.loads(space.freeze(space.sample(rng)))) for _ in range(3)]


@pytest.mark.parametrize("proxy", PROXIES)
def test_each_proxy_gives_finite_scores_that_differ_between_candidates(proxy, candidates):
    evaluator = ProxyEvaluator(proxy, batch_size=32)
    scores = [evaluator(graph, seed=0)[proxy] for graph in candidates]
    assert all(math.isfinite(s) for s in scores) and len(set(scores)) == 3
    assert evaluator(candidates[0], seed=0)[proxy] == scores[0]          # one minibatch, no training: repeatable


def test_an_unknown_proxy_is_named_with_a_suggestion():
    with pytest.raises(FgirError) as err:
        ProxyEvaluator("synflo")
    assert err.value.diagnostics[0].message == "unknown proxy 'synflo'"
    assert err.value.diagnostics[0].hint == "did you mean 'synflow'?"


def test_fgir_search_takes_the_proxy_evaluator(tmp_path):
    spec = tmp_path / "proxy.yaml"
    spec.write_text("search_algorithm: {evaluator: {type: proxy, proxy: naswot, batch_size: 16}, "
                    "objectives: [naswot:max]}\n" + MOBILENET.read_text())
    done = run_fgir("search", str(spec), "--budget", "2", "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "status" in r]
    assert [r["status"] for r in rows] == ["ok", "ok"] and all(math.isfinite(r["metrics"]["naswot"]) for r in rows)
