from bot.slack.status import EditBudget


def test_progress_edits_share_a_budget() -> None:
    budget = EditBudget(per_minute=60, burst=3)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
