"""The tasks area's errors: what a user or a staff member must know; nothing was changed."""

from __future__ import annotations

from app.i18n import N_, UserError


class TaskError(UserError):
    """A task operation refused; `text(_)` says why in the reader's language."""


class TaskNotFound(TaskError):
    def __init__(self) -> None:
        super().__init__(N_("This task is no longer available."))


class TaskClosed(TaskError):
    def __init__(self) -> None:
        super().__init__(N_("This task is closed: its dates are over or enough people did it."))


class AlreadyDone(TaskError):
    def __init__(self) -> None:
        super().__init__(N_("You have already done this task; it pays once."))


class AwaitingReview(TaskError):
    def __init__(self) -> None:
        super().__init__(N_("Your screenshot for this task is waiting for review."))


class NotAllowed(TaskError):
    def __init__(self) -> None:
        super().__init__(N_("Only an administrator can manage tasks."))
