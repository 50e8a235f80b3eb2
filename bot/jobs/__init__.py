"""Background work: jobs, their journal, the fair queue, limits and the runner."""

from bot.jobs.job import Job, Source
from bot.jobs.journal import Admission, Journal
from bot.jobs.limits import Limits
from bot.jobs.runner import JobRunner

__all__ = ["Admission", "Job", "JobRunner", "Journal", "Limits", "Source"]
