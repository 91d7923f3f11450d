"""Managed values: computed by the engine each step (``langgraph.managed``)."""

from typing import Annotated

from ._internal.schema import _IsLastStepManager, _RemainingStepsManager

__all__ = ("RemainingSteps", "IsLastStep")

RemainingSteps = Annotated[int, _RemainingStepsManager]
IsLastStep = Annotated[bool, _IsLastStepManager]
