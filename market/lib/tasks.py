"""Celery tasks looked up by their registered name.

A service module low in its app enqueues a task defined in the app's ``tasks.py`` above it by
name, so that imports keep pointing down (tasks -> services -> models) and no cycle forms.
"""

from celery import current_app


def registered_task(name: str):
    """The task registered as ``name``; a process that has not loaded the tasks yet runs
    Celery's autodiscovery first."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]
