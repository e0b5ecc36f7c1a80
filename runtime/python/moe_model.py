"""A compiled moe-graph model, called from Python.

    moe-compile --emit=lib MODEL.json -o libmodel.so

    from moe_model import Model
    model = Model("./libmodel.so")        # weights=..., threads=...
    y = model(x)                          # x: [tokens, width] float32

A call takes one array per graph input, in the model's order, and returns
the output array, or with several outputs a dict of them by name, in the
model's order. Arrays are numpy float32 in C order ([tokens, width]); other
dtypes and layouts are converted. The library's C interface is
runtime/include/moe/moe_model.h (docs/embedding.md); this wrapper uses
ctypes and numpy only.
"""
import ctypes
import os

import numpy as np

__all__ = ["Model", "MoEModelError"]


class MoEModelError(RuntimeError):
    """An error the model library reported."""


def _bind(lib):
    handle = ctypes.c_void_p
    signatures = {
        "moe_model_load": (handle, [ctypes.c_char_p]),
        "moe_model_load_error": (ctypes.c_char_p, []),
        "moe_model_free": (None, [handle]),
        "moe_model_error": (ctypes.c_char_p, [handle]),
        "moe_model_num_inputs": (ctypes.c_int, [handle]),
        "moe_model_input_name": (ctypes.c_char_p, [handle, ctypes.c_int]),
        "moe_model_input_width": (ctypes.c_int64, [handle, ctypes.c_int]),
        "moe_model_num_outputs": (ctypes.c_int, [handle]),
        "moe_model_output_name": (ctypes.c_char_p, [handle, ctypes.c_int]),
        "moe_model_output_width": (ctypes.c_int64, [handle, ctypes.c_int]),
        "moe_model_output_rows": (ctypes.c_int64,
                                  [handle, ctypes.c_int, ctypes.c_int64]),
        "moe_model_set_threads": (ctypes.c_int, [handle, ctypes.c_int]),
        "moe_model_use_cuda_graphs": (ctypes.c_int, [handle]),
        "moe_model_forward": (ctypes.c_int,
                              [handle, ctypes.c_int64, ctypes.c_void_p,
                               ctypes.c_void_p]),
        "moe_model_save_prepared": (ctypes.c_int, [handle, ctypes.c_char_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


class Model:
    """One loaded model: its weights, and the buffers of its calls. Calls on
    one Model run one at a time; separate Models may run at the same time
    (the library releases the GIL through ctypes)."""

    def __init__(self, library, weights=None, threads=None,
                 cuda_graphs=False):
        self._lib = ctypes.CDLL(os.path.abspath(library))
        _bind(self._lib)
        self._handle = self._lib.moe_model_load(
            os.fsencode(weights) if weights is not None else None)
        if not self._handle:
            raise MoEModelError(self._lib.moe_model_load_error().decode())
        lib, h = self._lib, self._handle
        self.inputs = [(lib.moe_model_input_name(h, i).decode(),
                        lib.moe_model_input_width(h, i))
                       for i in range(lib.moe_model_num_inputs(h))]
        self.outputs = [(lib.moe_model_output_name(h, i).decode(),
                         lib.moe_model_output_width(h, i))
                        for i in range(lib.moe_model_num_outputs(h))]
        if threads:
            lib.moe_model_set_threads(h, int(threads))
        if cuda_graphs and lib.moe_model_use_cuda_graphs(h) != 0:
            error = lib.moe_model_error(h).decode()
            self.close()
            raise MoEModelError(error)

    def __call__(self, *inputs):
        if self._handle is None:
            raise MoEModelError("the model was closed")
        if len(inputs) != len(self.inputs):
            raise ValueError("the model takes %d input(s) (%s), got %d" % (
                len(self.inputs), ", ".join(n for n, _ in self.inputs),
                len(inputs)))
        arrays = [np.ascontiguousarray(x, dtype=np.float32) for x in inputs]
        tokens = None
        for (name, width), array in zip(self.inputs, arrays):
            if array.ndim != 2 or array.shape[1] != width:
                raise ValueError("input '%s' must be [tokens, %d], got %s" % (
                    name, width, list(array.shape)))
            if tokens is None:
                tokens = array.shape[0]
            elif array.shape[0] != tokens:
                raise ValueError("input '%s' has %d tokens, the first %d" % (
                    name, array.shape[0], tokens))
        tokens = tokens or 0
        results = [np.empty((self._lib.moe_model_output_rows(
                                 self._handle, i, tokens), width),
                            dtype=np.float32)
                   for i, (_, width) in enumerate(self.outputs)]
        pointers = (ctypes.c_void_p * max(len(arrays), 1))(
            *[a.ctypes.data for a in arrays])
        out_pointers = (ctypes.c_void_p * max(len(results), 1))(
            *[r.ctypes.data for r in results])
        if self._lib.moe_model_forward(self._handle, tokens, pointers,
                                       out_pointers) != 0:
            raise MoEModelError(
                self._lib.moe_model_error(self._handle).decode())
        if len(results) == 1:
            return results[0]
        return {name: r for (name, _), r in zip(self.outputs, results)}

    def save_prepared(self, path):
        """Writes the weights as the compiled code reads them, for a later
        Model(library, weights=path)."""
        if self._lib.moe_model_save_prepared(self._handle,
                                             os.fsencode(path)) != 0:
            raise MoEModelError(
                self._lib.moe_model_error(self._handle).decode())

    def close(self):
        if self._handle is not None:
            self._lib.moe_model_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
