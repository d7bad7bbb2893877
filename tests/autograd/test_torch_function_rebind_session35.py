"""Names bound before the ``__torch_function__`` wrappers exist still dispatch, as in PyTorch.

``from torch import exp`` at the top of a script and ``exp(subclass_instance)`` later reaches
the subclass's handler in PyTorch (its functions always dispatch). chainrule installs its
wrappers only when the first dispatching subclass appears (chainrule.overrides), so a name
imported before that held the unwrapped function: ``exp(masked_tensor)`` silently gave a plain
Tensor and lost the mask. ``install`` now rebinds such globals in user modules (and
``_uninstall`` restores them).
"""

import importlib
import sys
import warnings

import pytest
import torch

import chainrule as cr
from chainrule import exp as _exp_at_import

# bound before any test here installs the wrappers: the original function, also when another
# test module collected first defined a dispatching subclass at import (the wrappers were
# installed then, and the suite's autouse fixture removes them before each test)
early_exp = getattr(_exp_at_import, "__torch_function_wrapped__", _exp_at_import)

LIBS = [torch, cr]


def _write_module(tmp_path, monkeypatch, name: str, lib_name: str) -> object:
    """A user's module importing the functions by name, loaded as ``import`` would (it stays
    in ``sys.modules`` for the test)."""
    (tmp_path / f"{name}.py").write_text(
        f"from {lib_name} import exp, sigmoid\n"
        f"from {lib_name}.nn.functional import softmax\n"
        "def run(x):\n"
        "    return exp(x), sigmoid(x), softmax(x, dim=0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)  # removed again after the test
    return module


def _logged(lib):
    class Logged(lib.Tensor):
        calls: list = []  # noqa: RUF012

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.calls.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    return Logged


@pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)
def test_names_imported_before_the_first_subclass_dispatch(lib, tmp_path, monkeypatch):
    user = _write_module(tmp_path, monkeypatch, f"user_script_{lib.__name__}", lib.__name__)
    Logged = _logged(lib)  # the first dispatching subclass: chainrule installs now
    x = lib.tensor([0.5, -1.0]).as_subclass(Logged)
    results = user.run(x)
    assert [type(r).__name__ for r in results] == ["Logged"] * 3
    assert Logged.calls == ["exp", "sigmoid", "softmax"]


def test_masked_tensor_through_an_early_import_keeps_its_mask():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's prototype-stage warning
        data, mask = [0.0, 1.0, 2.0], [True, False, True]
        mt = cr.masked.masked_tensor(cr.tensor(data), cr.tensor(mask))
        tmt = torch.masked.masked_tensor(torch.tensor(data), torch.tensor(mask))
    out, expected = early_exp(mt), torch.exp(tmt)
    assert type(out).__name__ == type(expected).__name__ == "MaskedTensor"
    assert out.get_mask().tolist() == expected.get_mask().tolist()
    assert out.get_data()[0].item() == pytest.approx(expected.get_data()[0].item())


def test_uninstall_restores_the_user_modules_globals(tmp_path, monkeypatch):
    user = _write_module(tmp_path, monkeypatch, "user_script_restore", "chainrule")
    original = user.exp
    _logged(cr)
    assert user.exp is not original and user.exp.__torch_function_wrapped__ is original
    cr.overrides._uninstall()
    assert user.exp is original and early_exp is cr.exp


def test_installed_libraries_are_not_scanned(tmp_path, monkeypatch):
    """Modules under the standard library's and site-packages' folders are left as they are
    (the scan stays cheap with thousands of modules loaded)."""
    user = _write_module(tmp_path, monkeypatch, "user_script_library", "chainrule")
    paths = cr.overrides._library_paths() + (str(tmp_path),)
    monkeypatch.setattr(cr.overrides, "_library_paths", lambda: paths)
    original = user.exp
    _logged(cr)
    assert user.exp is original
    assert user not in cr.overrides._user_modules()
