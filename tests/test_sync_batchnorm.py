"""nn.SyncBatchNorm in one process: without a process group it is BatchNorm (minigrad's and torch's),
and convert_sync_batchnorm swaps a model's BatchNorms for it in place of the same tensors. Several
ranks: tests/mpi_scenarios.py's sync_batchnorm, launched by tests/test_distributed.py.

torch 2.13's SyncBatchNorm on the CPU without a process group does not raise: in training and in
eval it falls back to F.batch_norm (it refuses CPU tensors only once a group of several ranks
exists), so here it is the reference too, and minigrad's does the same."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


def random_batch(rng, ndim, channels):
    shape = (int(rng.integers(2, 6)), channels) + tuple(int(n) for n in rng.integers(1, 5, ndim - 2))
    return (1 + 2 * rng.standard_normal(shape)).astype(np.float32)


def train_and_eval(module, batches, loss_weights, framework):
    """Two training steps then one eval step; each step's output and input gradient, then the
    parameter gradients and the module's state."""
    steps = []
    for step, (x, w) in enumerate(zip(batches, loss_weights)):
        module.train(step < 2)
        x = framework.tensor(x, requires_grad=True)
        out = module(x)
        (out * framework.tensor(w)).sum().backward()
        steps.append((npy(out), npy(x.grad)))
    grads = [npy(p.grad) for p in module.parameters()]
    return steps, grads, {k: npy(v) for k, v in module.state_dict().items()}


# torch's BatchNorm for each input rank (minigrad has no BatchNorm3d: torch's alone checks 5-D)
BATCHNORM_FOR_RANK = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}


@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine,track_running_stats", [(True, True), (False, True), (True, False)])
def test_without_a_process_group_it_is_batchnorm(torch, ndim, momentum, affine,
                                                 track_running_stats):
    rng = np.random.default_rng(ndim)
    channels = int(rng.integers(1, 5))
    batches = [random_batch(rng, ndim, channels) for _ in range(3)]
    loss_weights = [rng.standard_normal(x.shape).astype(np.float32) for x in batches]
    options = dict(momentum=momentum, affine=affine, track_running_stats=track_running_stats)
    name = BATCHNORM_FOR_RANK[ndim]
    synced = nn.SyncBatchNorm(channels, **options)
    batchnorm = getattr(nn, name)(channels, **options) if hasattr(nn, name) else None
    references = [torch.nn.SyncBatchNorm(channels, **options),
                  getattr(torch.nn, name)(channels, **options)]
    if affine:  # weights other than ones and zeros, the same in every module
        weight, bias = rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels)
        for module, framework in ((synced, mg), (batchnorm, mg), *((m, torch) for m in references)):
            if module is not None:
                with framework.no_grad():
                    module.weight.copy_(framework.tensor(weight, dtype=framework.float32))
                    module.bias.copy_(framework.tensor(bias, dtype=framework.float32))
    (steps, grads, state) = train_and_eval(synced, batches, loss_weights, mg)
    assert len(steps) == 3
    if batchnorm is not None:  # minigrad's BatchNorm takes the same path: equal to the bit
        ours = train_and_eval(batchnorm, batches, loss_weights, mg)
        assert list(state) == list(ours[2])
        for (out, x_grad), (expected_out, expected_x_grad) in zip(steps, ours[0]):
            np.testing.assert_array_equal(out, expected_out)
            np.testing.assert_array_equal(x_grad, expected_x_grad)
        for grad, expected in zip(grads, ours[1]):
            np.testing.assert_array_equal(grad, expected)
    for reference in references:
        theirs = train_and_eval(reference, batches, loss_weights, torch)
        for step, ((out, x_grad), (t_out, t_x_grad)) in enumerate(zip(steps, theirs[0])):
            np.testing.assert_allclose(out, t_out, RTOL, ATOL, err_msg=f"output, step {step}")
            np.testing.assert_allclose(x_grad, t_x_grad, RTOL, ATOL,
                                       err_msg=f"input gradient, step {step}")
        for grad, t_grad in zip(grads, theirs[1]):
            np.testing.assert_allclose(grad, t_grad, RTOL, ATOL)
        assert list(state) == list(theirs[2])
        for key in state:
            np.testing.assert_allclose(state[key], theirs[2][key], RTOL, ATOL, err_msg=key)


def test_signature_state_dict_and_repr_are_torchs(torch):
    synced = nn.SyncBatchNorm(3, eps=1e-3, momentum=0.2)
    assert list(synced.state_dict()) == list(torch.nn.SyncBatchNorm(3).state_dict())
    assert synced.process_group is None
    assert repr(synced) == ("SyncBatchNorm(3, eps=0.001, momentum=0.2, affine=True, "
                            "track_running_stats=True)")
    assert list(nn.SyncBatchNorm(3, track_running_stats=False).state_dict()) == ["weight", "bias"]


def test_misuse_names_the_shapes():
    synced = nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input of shape \(3,\)\)"):
        synced(mg.zeros(3))
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels, got 2 \(input shape "
                                           r"\(4, 2, 5\)\)"):
        synced(mg.zeros(4, 2, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        synced(mg.zeros(1, 3))


def nested_model():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Sequential(nn.Conv2d(4, 2, 3), nn.BatchNorm2d(2, momentum=None)),
                         nn.Flatten(), nn.Linear(2 * 4 * 4, 3),
                         nn.Sequential(nn.BatchNorm1d(3, affine=False)), nn.Linear(3, 2))


def test_convert_sync_batchnorm_swaps_every_batchnorm_for_one_with_the_same_tensors():
    model = nested_model()
    model(mg.randn(4, 1, 8, 8))  # running statistics other than their initial values
    model[3].eval()
    before = {k: npy(v) for k, v in model.state_dict().items()}
    parameters, buffers = list(model.parameters()), list(model.buffers())
    originals = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group=None)
    assert converted is model  # a container is kept, its BatchNorm children replaced
    synced = [m for m in converted.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert len(synced) == 3 and not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
                                        for m in converted.modules())
    assert all(p is q for p, q in zip(converted.parameters(), parameters))
    assert all(b is c for b, c in zip(converted.buffers(), buffers))
    assert len(list(converted.parameters())) == len(parameters)
    after = converted.state_dict()
    assert list(after) == list(before)
    for key in before:
        np.testing.assert_array_equal(npy(after[key]), before[key], err_msg=key)
    for original, sync in zip(originals, synced):
        for name in ("num_features", "eps", "momentum", "affine", "track_running_stats",
                     "training"):
            assert getattr(sync, name) == getattr(original, name), name
    assert synced[1].momentum is None and not synced[1].training and synced[2].weight is None
    assert "(1): SyncBatchNorm(4, eps=1e-05, momentum=0.1, affine=True" in repr(converted)
    assert "(0): SyncBatchNorm(3, eps=1e-05, momentum=0.1, affine=False" in repr(converted)


def test_convert_sync_batchnorm_replaces_a_batchnorm_at_the_top_and_keeps_sharing():
    batchnorm = nn.BatchNorm1d(3, track_running_stats=False)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(batchnorm, process_group=None)
    assert type(converted) is nn.SyncBatchNorm and converted.weight is batchnorm.weight
    assert converted.running_mean is None and list(converted.state_dict()) == ["weight", "bias"]
    already = nn.SyncBatchNorm(2)
    assert nn.SyncBatchNorm.convert_sync_batchnorm(already) is already
    shared = nn.BatchNorm1d(3)
    model = nn.Sequential(nn.Linear(3, 3), shared, nn.Linear(3, 3), shared)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted[1] is converted[3] and type(converted[1]) is nn.SyncBatchNorm


def test_convert_sync_batchnorm_refuses_an_uninferred_lazy_batchnorm():
    with pytest.raises(ValueError, match="LazyBatchNorm2d has not inferred num_features"):
        nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.LazyBatchNorm2d()))
    lazy = nn.LazyBatchNorm2d()
    lazy(mg.randn(2, 3, 4, 4))  # now a BatchNorm2d of 3 features
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(lazy)
    assert type(converted) is nn.SyncBatchNorm and converted.num_features == 3
