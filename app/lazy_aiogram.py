"""Import aiogram with its Telegram types and methods built on first use, not all at import."""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

# aiogram declares its ~300 types with pydantic's defer_build and then, at the end of
# aiogram/types/__init__.py, calls model_rebuild() on every one of them, which builds each
# type's validator with a private copy of everything it nests: 150 MB of RSS and 1.6 s of the
# start-up for validators a bot mostly never uses (measured in bench/memory.py and
# bench/updates.py). Here that loop only hands each model the namespace its forward
# references need, and pydantic builds a model the first time it is used (with its own
# MockValSer mechanism, the one defer_build relies on). tests/test_lazy_aiogram.py builds
# every type and method that way, so an upgrade that breaks it fails the suite, not a user.


def _remember_namespace(
    cls: type[BaseModel], *, _types_namespace: dict[str, Any] | None = None, **kw: Any
) -> Any:
    if _types_namespace is None or cls.__pydantic_complete__:
        return _ORIGINAL.__func__(cls, _types_namespace=_types_namespace, **kw)
    cls.__pydantic_parent_namespace__ = dict(_types_namespace)
    return None


_ORIGINAL: Any = BaseModel.__dict__["model_rebuild"]


def import_aiogram() -> None:
    """Import aiogram lazily; a no-op if it is already imported (then it is built eagerly)."""
    if "aiogram" in sys.modules:
        return
    BaseModel.model_rebuild = classmethod(_remember_namespace)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.methods
        import aiogram.types
    finally:
        BaseModel.model_rebuild = _ORIGINAL  # type: ignore[method-assign]
    from aiogram.methods.base import Response

    namespace = {name: getattr(aiogram.types, name) for name in aiogram.types.__all__}
    # Response[T] (a method's answer) is made per method at run time and inherits this.
    Response.__pydantic_parent_namespace__ = namespace
    for name in aiogram.methods.__all__:
        method = getattr(aiogram.methods, name)
        # Methods are built when their class is defined, which failed for those nesting a type
        # that was not built yet; they are built on first use too, with the types' namespace.
        if isinstance(method, type) and issubclass(method, BaseModel) and not method.__pydantic_complete__:
            module = vars(sys.modules[method.__module__])
            method.__pydantic_parent_namespace__ = {**namespace, **module}


def all_models() -> list[type[BaseModel]]:
    """Every aiogram type and method model (for the test that builds each one)."""
    import aiogram.methods
    import aiogram.types

    found = []
    for module in (aiogram.types, aiogram.methods):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseModel):
                found.append(value)
    return found
