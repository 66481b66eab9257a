"""fastdse.callbacks with the real frameworks on CPU: Keras 3 (torch backend) and Lightning.

Each framework trains a small network on scikit-learn's digits for 2 epochs. The
representation is the hidden layer ``relu(dropout(x) W + b)``: a recorder callback keeps the
weights at every evaluation, and a second monitor with the same seed, fed the hidden layer
computed from those weights in numpy (dropout off: inference mode), must give the callback's
records. Z is float32 in the frameworks and in the reference, computed by different matrix
products, hence a tolerance.
"""

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdse.callbacks import KerasCallback, LightningCallback, _to_points
from fastdse.monitor import TrainingMonitor

N_EVAL = 300
SETTINGS = {"n_eval": N_EVAL, "t": 1, "mode": "exact", "num_repetitions": 2, "random_state": 7}
# Lightning 2.6 under torch 2.13: raised inside Lightning's own data loading, not by fastdse
LEAFSPEC = "ignore:`isinstance.treespec, LeafSpec.` is deprecated:FutureWarning"
EVAL_AT_START = "ignore:Found 1 module.s. in eval mode at the start of training"


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="module")
def keras():
    pytest.importorskip("torch")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on torch: no TensorFlow needed
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend")
    return keras


@pytest.fixture(scope="module")
def pl():
    pytest.importorskip("torch")
    return pytest.importorskip("lightning.pytorch")


def monitor_for(digits, **kwargs):
    X, y = digits
    return TrainingMonitor(Y=y, X=X, **SETTINGS, **kwargs)


def reference_history(digits, weights):
    """The records a fresh monitor gives for the hidden layer at each (epoch, W, b)."""
    monitor = monitor_for(digits)
    x_eval = monitor.select(digits[0])
    for epoch, W, b in weights:
        monitor.update(np.maximum(x_eval @ W + b, 0), epoch=epoch)
    return monitor.history


def assert_same_records(got, expected):
    assert [r["epoch"] for r in got.records] == [r["epoch"] for r in expected.records]
    for name in expected.to_dict():
        assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # training moved the representation: the comparison is not of constants
    assert np.ptp(got["dse"]) > 1e-3


def test_import_loads_no_framework():
    code = ("import fastdse, fastdse.callbacks, sys; "
            "loaded = {'keras', 'lightning', 'pytorch_lightning', 'torch'} & set(sys.modules); "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_to_points_flattens_and_upcasts(pl):
    import torch

    Z = torch.arange(24, dtype=torch.bfloat16).reshape(3, 2, 4)
    out = _to_points(Z)
    assert out.dtype == np.float64 and out.shape == (3, 8)
    assert_allclose(out, np.arange(24.0).reshape(3, 8))


# --------------------------------------------------------------------------- Keras


def keras_model(keras):
    init = keras.initializers.GlorotUniform(seed=0)
    return keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dropout(0.2, seed=1),
        keras.layers.Dense(32, activation="relu", kernel_initializer=init, name="hidden"),
        keras.layers.Dense(10, kernel_initializer=init),
    ])


def hidden_weights(model):
    # the torch tensors behind the variables: get_weights() warns under numpy 2 and torch 2.13
    return [v.value.detach().numpy().copy() for v in model.get_layer("hidden").weights]


def test_keras_callback_records_logs_and_history(keras, digits):
    X, y = digits
    model = keras_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    weights = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if not weights:
                weights.append((epoch, *hidden_weights(model)))

        def on_epoch_end(self, epoch, logs=None):
            weights.append((epoch + 1, *hidden_weights(model)))

    monitor = monitor_for(digits)
    callback = KerasCallback(monitor, "hidden", X, batch_size=128)
    assert isinstance(callback, KerasCallback)
    assert isinstance(callback, keras.callbacks.Callback)
    fit = model.fit(X, y, epochs=2, batch_size=64, shuffle=False, verbose=0,
                    callbacks=[callback, Recorder()])

    assert callback.history is monitor.history
    assert_same_records(monitor.history, reference_history(digits, weights))
    # the logs: the values of epochs 1 and 2 (epoch 0 is recorded before training)
    assert set(fit.history) == {"loss", *monitor.metrics}
    for name in monitor.metrics:
        assert fit.history[name] == [r[name] for r in monitor.history.records[1:]]

    # resuming with the same monitor records epoch 2 once, then epoch 3
    model.fit(X, y, initial_epoch=2, epochs=3, batch_size=64, verbose=0, callbacks=[callback])
    assert monitor.history["epoch"].tolist() == [0, 1, 2, 3]


def test_keras_callback_leaves_weights_and_gradients(keras, digits):
    import torch

    X, y = digits
    model = keras_model(keras)
    monitor = monitor_for(digits, metrics="dse")
    # a callable's Keras layer is called with training=False (the dropout's seed state stays);
    # inputs of shape (n, 1, 64) give Z of shape (n, 1, 32), flattened
    callback = KerasCallback(
        monitor,
        lambda m: keras.Sequential([keras.layers.Reshape((64,)), m.layers[0], m.layers[1],
                                    keras.layers.Reshape((1, 32))]),
        X[:, None, :], initial=False)
    callback.set_model(model)
    loss = torch.nn.functional.cross_entropy(model(X[:64], training=True),
                                             torch.as_tensor(y[:64]))
    loss.backward()
    values = [v.value.detach().clone() for v in model.weights]
    grads = [v.value.grad.clone() for v in model.trainable_weights]

    logs = {}
    callback.on_epoch_end(0, logs)
    assert set(logs) == {"dse"} and logs["dse"] == monitor.history.records[0]["dse"]
    assert all(torch.equal(v.value, value) for v, value in zip(model.weights, values))
    assert all(torch.equal(v.value.grad, grad)
               for v, grad in zip(model.trainable_weights, grads))
    W, b = hidden_weights(model)
    expected = reference_history(digits, [(1, W, b)])
    assert_allclose(monitor.history["dse"], expected["dse"], rtol=1e-4)


def test_keras_callback_rejects_bad_arguments(keras, digits):
    X, _ = digits
    monitor = monitor_for(digits, metrics="dse")
    with pytest.raises(TypeError, match="monitor must be a fastdse.monitor.TrainingMonitor"):
        KerasCallback(monitor.history, "hidden", X)
    with pytest.raises(TypeError, match=r"embed must be a layer name \(str\) or a callable"):
        KerasCallback(monitor, 3, X)
    with pytest.raises(ValueError, match="batch_size must be >= 1; got 0"):
        KerasCallback(monitor, "hidden", X, batch_size=0)
    with pytest.raises(TypeError, match="initial must be True or False"):
        KerasCallback(monitor, "hidden", X, initial="yes")
    with pytest.raises(ValueError, match=r"A must have one row per point of the full set"):
        KerasCallback(monitor, "hidden", X[:100])
    callback = KerasCallback(monitor, "hiden", X)
    callback.set_model(keras_model(keras))
    with pytest.raises(ValueError, match=r"embed='hiden': the model has no such layer; its "
                                         r"layers are \['dropout.*', 'hidden', 'dense.*'\]"):
        callback.on_epoch_end(0, {})

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(4, name="hidden")

        def call(self, x):
            return self.hidden(x)

    callback = KerasCallback(monitor, "hidden", X)
    callback.set_model(Subclassed())
    with pytest.raises(ValueError, match="needs a model built from keras.Input"):
        callback.on_epoch_end(0, {})
    callback = KerasCallback(monitor, lambda model: "hidden", X)
    callback.set_model(keras_model(keras))
    with pytest.raises(TypeError, match="embed.model. must return a function inputs -> Z"):
        callback.on_epoch_end(0, {})
    assert len(monitor.history) == 0


# --------------------------------------------------------------------------- Lightning


def lightning_module(pl):
    import torch

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Sequential(
                torch.nn.Dropout(0.2), torch.nn.Linear(64, 32), torch.nn.ReLU())
            self.head = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(32, 10))

        def forward(self, x):
            return self.head(self.encoder(x))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    with torch.random.fork_rng():  # the initial weights, without seeding torch globally
        torch.manual_seed(0)
        return Net()


def lightning_fit(pl, module, callbacks, X, y, epochs=2):
    import torch

    data = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    trainer = pl.Trainer(
        max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=64))
    return trainer


@pytest.mark.filterwarnings(LEAFSPEC, EVAL_AT_START)
def test_lightning_callback_records_logs_and_restores(pl, digits):
    import torch

    X, y = digits
    module = lightning_module(pl)
    module.head[0].eval()  # a submodule the user keeps in eval mode stays so
    weights, logged = [], []

    def hidden_weights():
        linear = module.encoder[1]
        return (linear.weight.detach().numpy().T.copy(), linear.bias.detach().numpy().copy())

    class Recorder(pl.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            if not weights:
                weights.append((0, *hidden_weights()))

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.modes = [m.training for m in pl_module.modules()]
            self.state = [(p.detach().clone(), p.grad.clone(), p.requires_grad)
                          for p in pl_module.parameters()]

        def on_train_epoch_end(self, trainer, pl_module):  # runs after the fastdse callback
            assert [m.training for m in pl_module.modules()] == self.modes
            assert torch.is_grad_enabled()
            for p, (value, grad, requires_grad) in zip(pl_module.parameters(), self.state):
                assert torch.equal(p, value) and torch.equal(p.grad, grad)
                assert p.requires_grad == requires_grad
            weights.append((trainer.current_epoch + 1, *hidden_weights()))
            logged.append({k: float(v) for k, v in trainer.callback_metrics.items()})

    monitor = monitor_for(digits)
    callback = LightningCallback(monitor, "encoder", X, batch_size=128)
    assert isinstance(callback, LightningCallback) and isinstance(callback, pl.Callback)
    trainer = lightning_fit(pl, module, [callback, Recorder()], X, y)

    assert module.training and not module.head[0].training
    assert_same_records(monitor.history, reference_history(digits, weights))
    records = monitor.history.records[1:]  # epoch 0 is recorded before training, not logged
    assert [set(entry) for entry in logged] == [set(monitor.metrics)] * 2
    for entry, record in zip(logged, records):
        for name in monitor.metrics:  # Lightning logs float32
            assert entry[name] == pytest.approx(record[name], rel=1e-6, abs=1e-6)
    assert set(trainer.logged_metrics) == set(monitor.metrics)


@pytest.mark.filterwarnings(LEAFSPEC)
def test_lightning_callback_with_a_callable_and_a_tensor(pl, digits):
    import torch

    X, y = digits
    module = lightning_module(pl)
    monitor = monitor_for(digits, metrics="dse")
    # a callable gives the function inputs -> Z; (n, 2, 16) is flattened to (n, 32)
    callback = LightningCallback(
        monitor, lambda m: (lambda x: m.encoder(x).reshape(-1, 2, 16)), torch.as_tensor(X),
        initial=False)
    lightning_fit(pl, module, [callback], X[:256], y[:256], epochs=1)
    linear = module.encoder[1]
    W, b = linear.weight.detach().numpy().T, linear.bias.detach().numpy()
    assert monitor.history["epoch"].tolist() == [1]
    assert_allclose(monitor.history["dse"], reference_history(digits, [(1, W, b)])["dse"],
                    rtol=1e-4)


def test_lightning_callback_rejects_bad_names(pl, digits):
    X, _ = digits
    module = lightning_module(pl)
    callback = LightningCallback(monitor_for(digits, metrics="dse"), "encode", X)
    with pytest.raises(ValueError, match=r"embed='encode': the module has no such submodule; "
                                         r"its submodules are \['encoder', 'encoder.0'"):
        callback.on_train_epoch_start(SimpleNamespace(current_epoch=0), module)
    callback = LightningCallback(monitor_for(digits, metrics="dse"), "head.0", X)
    module.forward = lambda x: module.encoder(x)  # the submodule never runs
    with pytest.raises(ValueError, match="the submodule ran 0 times in one forward pass"):
        callback.on_train_epoch_start(SimpleNamespace(current_epoch=0), module)
    assert module.training
