"""Keras and Lightning callbacks that update a :class:`~fastdse.monitor.TrainingMonitor`.

At the end of every training epoch a callback computes the representation ``Z`` of
the monitor's evaluation subset in inference mode, calls
:meth:`TrainingMonitor.update <fastdse.monitor.TrainingMonitor.update>` and hands the
metrics (``"dse"``, ``"dsmi_y"``, ``"dsmi_x"``: the names of the monitor's
:class:`~fastdse.monitor.History`) to the framework's own logging. The full records,
standard errors included, stay in ``monitor.history``.

Keras, Lightning and torch are imported when a callback is constructed, never by
``import fastdse`` or ``import fastdse.callbacks``. Each callback class is a plain class
whose ``__new__`` imports the framework and returns an instance of a subclass of both
the class and the framework's ``Callback`` (built once per class and cached), so
``isinstance(cb, KerasCallback)`` and ``isinstance(cb, keras.callbacks.Callback)`` both
hold and the framework accepts the callback as its own.

Epoch labels: the record made after ``k`` training epochs has ``epoch=k``. With
``initial=True`` (the default) the representation before the first epoch of training
is recorded too, as epoch 0 (in ``monitor.history`` only: no framework log exists yet).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np

from fastdse._util.validation import check_int, describe
from fastdse.monitor import TrainingMonitor

__all__ = ["KerasCallback", "LightningCallback"]

_BUILT: dict[tuple[type, tuple[type, ...]], type] = {}


def _bind(cls: type, bases: tuple[type, ...]) -> type:
    """Return the subclass of ``cls`` and the framework's ``bases`` (built once, cached)."""
    if all(issubclass(cls, base) for base in bases):
        return cls
    key = (cls, bases)
    if key not in _BUILT:
        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                     "__doc__": cls.__doc__}
        _BUILT[key] = type(cls.__name__, (cls, *bases), namespace)
    return _BUILT[key]


def _to_points(Z: Any) -> np.ndarray:
    """Return embeddings as a float64 numpy array of shape ``(n, d)`` (trailing axes flattened)."""
    if hasattr(Z, "detach"):  # a torch tensor: any device, any float dtype (bfloat16 too)
        import torch

        Z = Z.detach().to(device="cpu", dtype=torch.float64).numpy()
    arr = np.asarray(Z, dtype=np.float64)
    return arr.reshape(arr.shape[0], -1) if arr.ndim > 2 else arr


class _EpochCallback:
    """What both callbacks share: checked arguments, the epoch rule and the update."""

    def __init__(self, monitor: Any, embed: Any, inputs: Any, *, batch_size: int = 256,
                 initial: bool = True) -> None:
        if not isinstance(monitor, TrainingMonitor):
            raise TypeError(
                f"monitor must be a fastdse.monitor.TrainingMonitor; got {describe(monitor)}"
            )
        if not (isinstance(embed, str) or callable(embed)):
            raise TypeError(
                "embed must be a layer name (str) or a callable model -> (inputs -> Z); "
                f"got {describe(embed)}"
            )
        if not isinstance(initial, (bool, np.bool_)):
            raise TypeError(f"initial must be True or False; got {describe(initial)}")
        self.monitor = monitor
        self.embed = embed
        self.eval_inputs = monitor.select(inputs)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.initial = bool(initial)
        self._embedder: Any = None
        self._embedder_of: Any = None
        super().__init__()  # the framework's Callback, next in the built class's MRO

    @property
    def history(self) -> Any:
        """The monitor's :class:`~fastdse.monitor.History` (``monitor.history``)."""
        return self.monitor.history

    def _initial_due(self, epoch: int) -> bool:
        """Whether to record the state before training epoch ``epoch`` (0-based)."""
        records = self.monitor.history.records
        return self.initial and (not records or records[-1]["epoch"] < epoch)

    def _embedder_for(self, model: Any) -> Any:
        """Return the function inputs -> Z of ``model``, resolved once per model."""
        if self._embedder_of is not model:
            self._embedder = self._resolve(model)
            self._embedder_of = model
        return self._embedder

    def _resolve(self, model: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _update(self, Z: Any, epoch: int) -> dict[str, float]:
        """Update the monitor with ``Z``; return the metric values of the new record."""
        record = self.monitor.update(_to_points(Z), epoch=epoch)
        return {name: record[name] for name in self.monitor.metrics}

    def _batches(self) -> Iterator[Any]:
        n = self.eval_inputs.shape[0]
        for start in range(0, n, self.batch_size):
            yield self.eval_inputs[start:start + self.batch_size]

    def _returned(self, fn: Any) -> Any:
        if not callable(fn):
            raise TypeError(
                "embed(model) must return a function inputs -> Z (a layer, a sub-model, a "
                f"function); got {describe(fn)}"
            )
        return fn


# --------------------------------------------------------------------------- Keras


def _import_keras() -> Any:
    try:
        import keras
    except ImportError as exc:
        raise ImportError("KerasCallback needs Keras 3: pip install keras") from exc
    return keras


class KerasCallback(_EpochCallback):
    """A Keras 3 callback that updates a :class:`~fastdse.monitor.TrainingMonitor` each epoch.

    At each epoch's end it computes the embeddings of the monitor's evaluation
    subset in inference mode (``training=False``), calls ``monitor.update`` and
    writes the metrics into Keras' ``logs``, so that they appear in the progress
    bar, in the ``History`` that ``model.fit`` returns and in the callbacks after
    this one (``EarlyStopping(monitor="dsmi_y", mode="max")``, ``CSVLogger``, ...).

    Parameters
    ----------
    monitor : TrainingMonitor
        The monitor to update; its ``history`` keeps every record.
    embed : str or callable
        The representation Z. A ``str`` names a layer of the model
        (``model.get_layer(embed)``): Z is that layer's output when the model
        runs on the inputs (the model must be built from ``keras.Input``:
        ``Sequential`` with an ``Input`` or functional). A callable takes the
        model and returns a function ``inputs -> Z``, e.g. ``lambda model:
        model.encoder`` for a sub-model of a subclassed model; a returned Keras
        layer or model is called with ``training=False``, any other function must
        run in inference mode itself. ``embed(model)`` is called once per model.
    inputs : array-like of shape (n, ...)
        Inputs of the full set the monitor was built for (one row per point);
        the callback keeps ``monitor.select(inputs)``, the evaluation subset.
    batch_size : int, default 256
        Rows per forward pass.
    initial : bool, default True
        Also record the representation before the first epoch of training
        (epoch 0), in ``monitor.history`` only, unless the history already has a
        record for that epoch.

    Attributes
    ----------
    monitor : TrainingMonitor
    history : History
        ``monitor.history``: one record per evaluation, with standard errors.
    eval_inputs : array-like of shape (n_eval, ...)
        The inputs of the evaluation subset.

    Notes
    -----
    Keras' ``epoch`` argument counts from 0: the values written into ``logs`` at
    its end are recorded as ``epoch + 1`` (epochs trained), so
    ``fit(...).history["dse"][i]`` is ``monitor.history`` epoch ``i + 1``.
    Z of more than two dimensions (a convolution's feature maps) is flattened to
    ``(n_eval, -1)``. Keras is imported when the callback is constructed.
    """

    model: Any  # set by Keras (keras.callbacks.Callback.model)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Import Keras; return an instance of this class and ``keras.callbacks.Callback``."""
        keras = _import_keras()
        built = _bind(cls, (keras.callbacks.Callback,))
        return super().__new__(built)

    def __init__(self, monitor: TrainingMonitor, embed: str | Callable[[Any], Any],
                 inputs: Any, *, batch_size: int = 256, initial: bool = True) -> None:
        super().__init__(monitor, embed, inputs, batch_size=batch_size, initial=initial)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Record the untrained representation once, before the first epoch."""
        if self._initial_due(epoch):
            self._update(self._embeddings(), epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Update the monitor and write the metrics into ``logs``."""
        values = self._update(self._embeddings(), epoch + 1)
        if logs is not None:
            logs.update(values)

    def _resolve(self, model: Any) -> Any:
        if not isinstance(self.embed, str):
            return self._returned(self.embed(model))
        keras = _import_keras()
        try:
            layer = model.get_layer(self.embed)
        except ValueError as exc:
            names = [lyr.name for lyr in model.layers]
            raise ValueError(f"embed={self.embed!r}: the model has no such layer; its "
                             f"layers are {names}") from exc
        try:
            inputs = model.inputs
            return keras.Model(inputs[0] if len(inputs) == 1 else inputs, layer.output)
        except (AttributeError, ValueError) as exc:
            raise ValueError(
                f"embed={self.embed!r} needs a model built from keras.Input (Sequential with "
                "an Input, or functional); for a subclassed model pass a callable, e.g. "
                "embed=lambda model: model.encoder"
            ) from exc

    def _embeddings(self) -> np.ndarray:
        keras = _import_keras()
        fn = self._embedder_for(self.model)
        kwargs = {"training": False} if isinstance(fn, keras.layers.Layer) else {}
        parts = []
        for batch in self._batches():
            Z = fn(batch, **kwargs)
            # torch tensors: _to_points; numpy's copy keyword fails on keras' torch conversion
            parts.append(_to_points(Z if hasattr(Z, "detach") else keras.ops.convert_to_numpy(Z)))
        return np.concatenate(parts)


# --------------------------------------------------------------------------- Lightning


_LIGHTNING = ("lightning.pytorch", "pytorch_lightning")


def _lightning_callback_bases() -> tuple[type, ...]:
    """Return the ``Callback`` classes to derive from: ``lightning.pytorch``'s by default.

    ``lightning.pytorch.Callback`` and ``pytorch_lightning.Callback`` are different
    classes, and each Trainer accepts its own: the callback derives from the ones of the
    packages already imported, else from the installed one (``lightning`` first).
    """
    bases = tuple(sys.modules[name].Callback for name in _LIGHTNING if name in sys.modules)
    for name in _LIGHTNING:
        if bases:
            break
        try:
            bases = (importlib.import_module(name).Callback,)
        except ImportError:
            continue
    if not bases:
        raise ImportError("LightningCallback needs Lightning: pip install lightning")
    return bases


@contextmanager
def _inference(module: Any) -> Iterator[None]:
    """``module.eval()`` under ``torch.no_grad()``; every submodule's mode restored after."""
    import torch

    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes:
            m.training = training


def _hooked_output(module: Any, name: str, submodule: Any, batch: Any) -> Any:
    """Run ``module(batch)`` and return what ``submodule`` output during that forward."""
    outputs: list[Any] = []
    handle = submodule.register_forward_hook(lambda _m, _i, out: outputs.append(out))
    try:
        module(batch)
    finally:
        handle.remove()
    if len(outputs) != 1 or not hasattr(outputs[0], "detach"):
        what = (f"ran {len(outputs)} times" if len(outputs) != 1
                else f"returned {type(outputs[0]).__name__}, not a tensor")
        raise ValueError(
            f"embed={name!r}: the submodule {what} in one forward pass; pass a callable, "
            "e.g. embed=lambda model: model.encoder"
        )
    return outputs[0]


class LightningCallback(_EpochCallback):
    """A Lightning callback that updates a :class:`~fastdse.monitor.TrainingMonitor` each epoch.

    At ``on_train_epoch_end`` it switches the module to ``eval()`` (dropout off,
    batch-norm statistics frozen), computes the embeddings of the monitor's
    evaluation subset under ``torch.no_grad()`` on the module's device, moves them
    to CPU numpy, calls ``monitor.update``, logs the metrics with
    ``pl_module.log_dict`` (to the loggers, ``trainer.callback_metrics`` and the
    progress bar) and restores every submodule's train or eval mode.

    Parameters
    ----------
    monitor : TrainingMonitor
        The monitor to update; its ``history`` keeps every record.
    embed : str or callable
        The representation Z. A ``str`` names a submodule
        (``pl_module.get_submodule(embed)``, e.g. ``"encoder"`` or ``"net.2"``):
        Z is that submodule's output during ``pl_module(inputs)`` (read with a
        forward hook, so the module must define ``forward``). A callable takes the
        module and returns a function ``inputs -> Z``, e.g. ``lambda model:
        model.encoder``; it runs under ``eval()`` and ``no_grad``. ``embed(model)``
        is called once per module.
    inputs : array-like or torch.Tensor of shape (n, ...)
        Inputs of the full set the monitor was built for (one row per point), in
        the dtype the model takes (e.g. ``float32``); the callback keeps
        ``monitor.select(inputs)`` and moves each batch to the module's device.
    batch_size : int, default 256
        Rows per forward pass.
    initial : bool, default True
        Also record the representation before the first epoch of training
        (epoch 0, at ``on_train_epoch_start``), in ``monitor.history`` only,
        unless the history already has a record for that epoch.

    Attributes
    ----------
    monitor : TrainingMonitor
    history : History
        ``monitor.history``: one record per evaluation, with standard errors.
    eval_inputs : array-like of shape (n_eval, ...)
        The inputs of the evaluation subset.

    Notes
    -----
    ``on_train_epoch_end`` runs once per training epoch, after that epoch's
    validation, whether or not there is a validation loop; validation hooks also
    run in the sanity check, in ``trainer.validate`` and several times per epoch
    with ``val_check_interval < 1``. The record after the epoch with
    ``trainer.current_epoch == k`` has ``epoch=k + 1`` (epochs trained).
    Z of more than two dimensions is flattened to ``(n_eval, -1)``. The callback
    derives from ``lightning.pytorch.Callback`` (and from
    ``pytorch_lightning.Callback`` when that package is the one imported);
    Lightning and torch are imported when it is constructed.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Import Lightning; return an instance of this class and Lightning's ``Callback``."""
        built = _bind(cls, _lightning_callback_bases())
        return super().__new__(built)

    def __init__(self, monitor: TrainingMonitor, embed: str | Callable[[Any], Any],
                 inputs: Any, *, batch_size: int = 256, initial: bool = True) -> None:
        super().__init__(monitor, embed, inputs, batch_size=batch_size, initial=initial)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        """Record the untrained representation once, before the first epoch."""
        if self._initial_due(trainer.current_epoch):
            self._update(self._embeddings(pl_module), trainer.current_epoch)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Update the monitor and log the metrics with ``pl_module.log_dict``."""
        values = self._update(self._embeddings(pl_module), trainer.current_epoch + 1)
        pl_module.log_dict(values, on_step=False, on_epoch=True, prog_bar=True)

    def _resolve(self, model: Any) -> Any:
        if not isinstance(self.embed, str):
            return self._returned(self.embed(model))
        try:
            submodule = model.get_submodule(self.embed)
        except AttributeError as exc:
            names = [name for name, _ in model.named_modules() if name]
            raise ValueError(f"embed={self.embed!r}: the module has no such submodule; its "
                             f"submodules are {names}") from exc
        return partial(_hooked_output, model, self.embed, submodule)

    def _embeddings(self, pl_module: Any) -> np.ndarray:
        import torch

        fn = self._embedder_for(pl_module)
        with _inference(pl_module):
            parts = [_to_points(fn(torch.as_tensor(batch).to(pl_module.device)))
                     for batch in self._batches()]
        return np.concatenate(parts)
