"""``lazy``: :func:`functools.cached_property` without its lock.

On Python 3.11, ``cached_property`` takes a lock on every first read of every instance; the
engine reads a few per article, and the lock cost more than the work it guarded (profiled:
about a microsecond each). ``lazy`` computes on first read and stores the value in the
instance's ``__dict__``, where later reads find it without calling the descriptor. Values are
per article and never shared across threads before they are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

_T = TypeVar("_T")


class lazy(Generic[_T]):
    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> lazy[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> _T: ...

    def __get__(self, instance: object | None, owner: type) -> lazy[_T] | _T:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value
