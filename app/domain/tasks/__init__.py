"""Tasks (T1, T2, T4, T6): join a chat for points, checked by the bot or by staff on a
screenshot, credited exactly once through the ledger, taken back once on leaving too soon.

Callers (the bot, the panel, the scheduler) use only what is exported here.
"""

from app.db.queries.tasks import (
    Completion,
    CompletionStatus,
    DayStats,
    ReviewItem,
    Task,
    TaskStats,
    Verification,
)
from app.domain.tasks.admin import (
    ChatRef,
    TaskInput,
    create_task,
    get_task,
    list_tasks,
    parse_chat,
    update_task,
)
from app.domain.tasks.doing import (
    Credited,
    ReviewDecision,
    approve_screenshot,
    completion,
    credit_by_staff,
    credit_member,
    daily_stats,
    is_member,
    open_tasks,
    reject_screenshot,
    review_item,
    review_queue,
    screenshot_tasks,
    submit_screenshot,
    task_stats,
    task_to_check,
    user_tasks,
)
from app.domain.tasks.errors import (
    AlreadyDone,
    AwaitingReview,
    NotAllowed,
    TaskClosed,
    TaskError,
    TaskNotFound,
)
from app.domain.tasks.leaving import MemberProbe, Sweep, member_left, recheck_due, take_back
from app.domain.tasks.messages import TaskMessages

__all__ = [
    "AlreadyDone",
    "AwaitingReview",
    "ChatRef",
    "Completion",
    "CompletionStatus",
    "Credited",
    "DayStats",
    "MemberProbe",
    "NotAllowed",
    "ReviewDecision",
    "ReviewItem",
    "Sweep",
    "Task",
    "TaskClosed",
    "TaskError",
    "TaskInput",
    "TaskMessages",
    "TaskNotFound",
    "TaskStats",
    "Verification",
    "approve_screenshot",
    "completion",
    "create_task",
    "credit_by_staff",
    "credit_member",
    "daily_stats",
    "get_task",
    "is_member",
    "list_tasks",
    "member_left",
    "open_tasks",
    "parse_chat",
    "recheck_due",
    "reject_screenshot",
    "review_item",
    "review_queue",
    "screenshot_tasks",
    "submit_screenshot",
    "take_back",
    "task_stats",
    "task_to_check",
    "update_task",
    "user_tasks",
]
