"""Qube!'s container classes: dicts with Qube!'s key names.

They are plain dicts (json.dumps, copy and ``==`` work as on a dict); the
constructors take what Qube!'s take.
"""


class QBObject(dict):
    """Base of Qube!'s objects: a dict built from another dict (or nothing)."""

    def __init__(self, data=None, **fields):
        super().__init__(data or {})
        self.update(fields)


class Job(QBObject):
    """A job: Job(data={}, name='', prototype='', package={}), and any other field by name."""

    def __init__(self, data=None, name="", prototype="", package=None, **fields):
        super().__init__(data, **fields)
        if name:
            self["name"] = name
        if prototype:
            self["prototype"] = prototype
        if package:
            self["package"] = package

    def id(self):  # Qube!'s examples write job.id() as well as job['id']
        return self.get("id")


class Work(QBObject):
    """An agenda item (a frame, a chunk, or a named task)."""


class Subjob(QBObject):
    """One running instance of a job on a host (this farm's instance, JOB.SUB)."""


class Host(QBObject):
    """A worker host."""


class Callback(QBObject):
    """A callback: triggers, language and code."""
