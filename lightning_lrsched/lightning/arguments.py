"""ScheduleArguments: how a schedule callback is built, from its schedule's arguments or around a schedule.

Each public callback names the kind of schedule it holds (``schedule_type``). This base gives every such class an
``__init__`` that takes the schedule's arguments by name, then the callback's own options, with their defaults
and types (LightningCLI, jsonargparse and editors read a class's arguments from its ``__init__``), builds the
schedule from them, and names a misspelled argument with the closest valid one. It knows nothing of a Trainer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from typing_extensions import Self

from lightning_lrsched import _checks
from lightning_lrsched.core.schedule import Schedule


class ScheduleArguments:
    """The construction side of a schedule callback: the schedule it holds, from arguments or given.

    A subclass sets ``schedule_type``. The class that writes ``__init__`` by hand (``LRSchedulerCallback``) takes
    ``*args``, ``schedule`` and its own keyword-only options, and calls :meth:`_hold`; every subclass without an
    ``__init__`` of its own gets one naming its schedule's arguments, then those options.

    Example::

        >>> from lightning_lrsched import StepLR, core
        >>> import inspect
        >>> list(inspect.signature(StepLR).parameters)[:3]
        ['step_size', 'gamma', 'interval']
        >>> type(StepLR.holding(core.StepLR(2))).__name__
        'StepLR'
    """

    schedule_type: ClassVar[type[Schedule]] = Schedule
    """The kind of schedule this callback holds, built from the callback's own arguments."""
    schedule: Schedule
    """The schedule: its arguments, resolved lengths and the timeline of the current or last fit."""
    option_names: ClassVar[tuple[str, ...]] = ()
    """The names of the options of the hand-written ``__init__`` (every other argument is the schedule's)."""
    _base_init: ClassVar[Callable[..., None]]
    """The hand-written ``__init__`` that the generated ones and :meth:`holding` call."""
    _own_parameters: ClassVar[list[inspect.Parameter]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        written = "__init__" in vars(cls)
        if written:  # by hand: its keyword-only parameters are the callback's options
            own = [p for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY]
            cls._base_init, cls._own_parameters = cls.__init__, own
            cls.option_names = tuple(p.name for p in own if p.name != "schedule")
        signature = cls._signature()
        if not written:
            cls.__init__ = cls._named_init(signature)  # type: ignore[method-assign]
            cls.__init__.__module__, cls.__init__.__qualname__ = cls.__module__, f"{cls.__qualname__}.__init__"
        itself = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        cls.__init__.__signature__ = signature.replace(parameters=[itself, *signature.parameters.values()])  # type: ignore[attr-defined]

    @classmethod
    def holding(cls, schedule: Schedule, **options: Any) -> Self:
        """The callback of this package for ``schedule``'s type (``StepLR`` for a core ``StepLR``), holding it.

        Example::

            >>> from lightning_lrsched import LRSchedulerCallback, core
            >>> callback = LRSchedulerCallback.holding(core.StepLR(2), log_lr=False)
            >>> type(callback).__module__, callback.interval
            ('lightning_lrsched.lightning.schedules', 'epoch')
        """
        kind = next((c for c in _subclasses(ScheduleArguments) if c.schedule_type is type(schedule)), cls)
        callback = kind.__new__(kind)
        kind._base_init(callback, schedule=schedule, **options)
        return callback  # type: ignore[return-value]

    def _hold(self, schedule: Schedule | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Schedule:
        """The given schedule, or one built from the arguments; a misspelled callback argument is named too."""
        if schedule is None:
            self._check_arguments(args, kwargs)
            try:
                return self.schedule_type(*args, **kwargs)
            except _checks.UnknownArgumentError as error:
                raise error.also((*self.option_names, "schedule")) from None
        if args or kwargs or not isinstance(schedule, self.schedule_type):
            raise TypeError(
                f"Expected argument `schedule` of `{type(self).__name__}` to be a `{self.schedule_type.__name__}`"
                f" of lightning_lrsched.core and no schedule arguments besides, but got {schedule!r} and"
                f" {[*args, *kwargs]}. Give either the schedule or its arguments."
            )
        return schedule

    def _check_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Checks of the schedule's arguments that only the callback can make (composites: their phases')."""

    @classmethod
    def _signature(cls) -> inspect.Signature:
        """A callback's signature: its schedule's arguments, the schedule's shared ones, then the callback's own."""
        schedule_type = cls.schedule_type
        parameters = [p for name, p in inspect.signature(schedule_type).parameters.items() if name != "self"]
        varying = [p for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
        taken = {p.name for p in parameters}
        shared = (
            [p for p in inspect.signature(Schedule).parameters.values() if p.kind is p.KEYWORD_ONLY] if varying else []
        )
        shared = [p for p in shared if p.name != "lengths"]  # (each type names its own lengths)
        # (`schedule` only where the schedule's own type is the base: `holding` gives the others theirs)
        own = [p for p in cls._own_parameters if p.name != "schedule" or schedule_type is Schedule]
        keywords = [p for p in [*shared, *own] if p.kind is p.KEYWORD_ONLY and p.name not in taken]
        fixed = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
        return inspect.Signature([*fixed, *keywords, *(varying if schedule_type.open_arguments else [])])

    @classmethod
    def _named_init(cls, signature: inspect.Signature) -> Callable[..., None]:
        """An ``__init__`` taking ``signature``'s arguments by name, as a dataclass's is written.

        It names each argument, with its default and type, and passes them all to the hand-written ``__init__``.
        """
        defaults = {name: p.default for name, p in signature.parameters.items() if p.default is not p.empty}
        listed = [p.replace(annotation=p.empty, default=p.empty) for p in signature.parameters.values()]
        text = ", ".join(str(p) + (f"=_defaults[{p.name!r}]" if p.name in defaults else "") for p in listed)
        named = ", ".join(f"{p.name!r}: {p.name}" for p in listed if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        rest = next((p.name for p in listed if p.kind is p.VAR_KEYWORD), None)
        if rest is None:  # (still taken, so that a misspelled name is an error naming the closest valid one)
            text, rest = f"{text}, **_unknown", "_unknown"
        source = f"def __init__(self, {text}):\n    _base(self, **{{{named}}}, **{rest})\n"
        scope: dict[str, Any] = {"_defaults": defaults, "_base": cls._base_init}
        exec(source, scope)
        init: Callable[..., None] = scope["__init__"]
        init.__annotations__ = {
            name: p.annotation for name, p in signature.parameters.items() if p.annotation is not p.empty
        }
        init.__annotations__["return"] = "None"
        return init


def _subclasses(cls: type[ScheduleArguments]) -> list[type[ScheduleArguments]]:
    """Every subclass, deepest first (so the callback of a schedule's own type wins over its base's)."""
    return [sub for child in cls.__subclasses__() for sub in (*_subclasses(child), child)]
