"""Qube!'s back-end API for job types written in Python.

A Python job type's script (named by its ``<type>.yaml``) is started once per
instance by the ``python`` job-type module. It asks for its job, then loops:
ask for an agenda item, do it, report it; and ends by reporting the job::

    import qb

    job = qb.jobobj()
    while True:
        work = qb.requestwork()
        if work['status'] in ('complete', 'pending', 'blocked'):
            break                       # no more work for this instance
        ...                             # render work['name']
        work['status'] = 'complete'     # or 'failed'
        qb.reportwork(work)
    qb.reportjob('complete')

The functions talk to the instance over a private channel: the Unix socket
whose descriptor is in ``$QB_BACKEND_FD``, one JSON object per line each way.
Standard library only, Python 3.7 or later.
"""

import json
import os
import socket
import sys
import threading

__all__ = ['jobobj', 'requestwork', 'reportwork', 'reportjob', 'BackendError']

# The instance refuses longer lines; refusing them here gives a clearer error.
_MAX_MESSAGE = 16 * 1024 * 1024


class BackendError(RuntimeError):
    """The back-end channel is missing, broken, or refused a request."""


class _Channel(object):
    def __init__(self, fd):
        # The commands the script runs must not speak on its channel.
        os.set_inheritable(fd, False)
        self._sock = socket.socket(fileno=fd)
        self._reader = self._sock.makefile('rb')
        self._lock = threading.Lock()

    def call(self, request):
        line = json.dumps(request, separators=(',', ':')).encode('utf-8') + b'\n'
        if len(line) > _MAX_MESSAGE:
            raise BackendError('request of %d bytes is larger than the %d allowed' % (len(line), _MAX_MESSAGE))
        # What was printed before a request belongs to the item it concerns:
        # it reaches the log before the instance reads the request.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        with self._lock:
            try:
                self._sock.sendall(line)
                answer = self._reader.readline(_MAX_MESSAGE + 1)
            except OSError as e:
                raise BackendError('the instance is gone: %s' % e)
        if not answer.endswith(b'\n'):
            raise BackendError('the instance closed the back-end channel')
        reply = json.loads(answer.decode('utf-8'))
        if 'error' in reply:
            raise BackendError(reply['error'])
        return reply


_channel = None
_channel_lock = threading.Lock()


def _call(request):
    global _channel
    with _channel_lock:
        if _channel is None:
            fd = os.environ.get('QB_BACKEND_FD', '')
            if not fd.isdigit():
                raise BackendError('qb.%s() works only in a Python job type\'s script started by its instance '
                                   '(QB_BACKEND_FD is not set)' % request['op'])
            _channel = _Channel(int(fd))
    return _channel.call(request)


def jobobj():
    """The job this instance runs, as a dict with Qube!'s keys (id, subid, pgrp,
    name, prototype, user, package, env, cwd, host, status)."""
    return _call({'op': 'jobobj'})['job']


def requestwork():
    """The next agenda item as a work dict (name, package, status 'running',
    resultpackage); blocks until the instance has one. When there is no more
    work for this instance its status is 'complete'."""
    return _call({'op': 'requestwork'})['work']


def reportwork(work):
    """Reports the item from requestwork(): work['status'] 'complete' or
    'failed', and its resultpackage (a dict) if any."""
    if not isinstance(work, dict):
        raise TypeError('qb.reportwork() takes the work dict from qb.requestwork(), not %s' % type(work).__name__)
    status = work.get('status')
    if status not in ('complete', 'failed'):
        raise ValueError("qb.reportwork(): work['status'] must be 'complete' or 'failed', not %r" % (status,))
    result = work.get('resultpackage')
    if result is not None and not isinstance(result, dict):
        raise TypeError("qb.reportwork(): work['resultpackage'] must be a dict")
    _call({'op': 'reportwork', 'work': {'name': work.get('name', ''), 'status': status,
                                        'resultpackage': result or {}}})


def reportjob(status):
    """Reports how the job ended for this instance ('complete', 'failed', ...);
    a job dict with a 'status' is accepted too, as Qube! does."""
    if isinstance(status, dict):
        status = status.get('status', '')
    _call({'op': 'reportjob', 'status': str(status)})
