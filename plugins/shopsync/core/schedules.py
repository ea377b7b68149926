"""Cron schedules in shop settings: what Airflow can run, checked when the settings are read."""

from __future__ import annotations

CRON_PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
                "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *"}   # the ones Airflow's cron timetables take


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron schedule Airflow can run (five fields, or a preset), or None."""
    from croniter import CroniterError, croniter

    cron = CRON_PRESETS.get(expression, expression)
    if len(cron.split()) != 5:
        presets = ", ".join(CRON_PRESETS)
        return f"{expression!r} is not a cron expression: five fields (minute hour day month weekday) or {presets}"
    try:
        croniter(cron).get_next()
    except CroniterError as exc:
        return f"{expression!r} is not a valid cron expression: {exc}"
    return None


def cron_schedule(expression: str) -> str:
    if problem := cron_problem(expression):
        raise ValueError(problem)
    return expression
