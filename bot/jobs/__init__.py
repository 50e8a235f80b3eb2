"""Background work: jobs, their journal, the fair queue, limits and the runner.

Knows nothing of Slack: what it needs from the place a request came from is
the :class:`~bot.jobs.publisher.Publisher` protocol, and how a job ended is
an :mod:`~bot.jobs.outcomes` value.
"""

from bot.jobs.accounting import Usage
from bot.jobs.admission import Admission
from bot.jobs.entry import Entry
from bot.jobs.job import Job, Source, StatusRef
from bot.jobs.journal import Journal, JournalUnwritable, StoreError
from bot.jobs.limits import Limits
from bot.jobs.publisher import InputFile, Publisher, PublishError, StatusView
from bot.jobs.runner import JobRunner

__all__ = [
    "Admission",
    "Entry",
    "InputFile",
    "Job",
    "JobRunner",
    "Journal",
    "JournalUnwritable",
    "Limits",
    "PublishError",
    "Publisher",
    "Source",
    "StatusRef",
    "StatusView",
    "StoreError",
    "Usage",
]
