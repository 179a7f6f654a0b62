"""The module is where Qube!'s is, and imports with the standard library alone."""
import os
import subprocess
import sys

import qb


def test_imported_from_qbdir_when_set():
    qbdir = os.environ.get("QBDIR")
    if qbdir:
        assert os.path.realpath(qb.__file__) == os.path.realpath(os.path.join(qbdir, "api", "python", "qb",
                                                                               "__init__.py"))
        assert qb.version() not in ("", "unknown")  # the build wrote _version.py


def test_imports_with_only_the_standard_library():
    # -S: no site-packages at all, as in a DCC's embedded interpreter.
    path = os.path.dirname(os.path.dirname(os.path.abspath(qb.__file__)))
    code = "import sys; sys.path.insert(0, %r); import qb; print(qb.QB_TIME_EPOCH_OFFSET)" % path
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_every_public_name_exists():
    assert [name for name in qb.__all__ if not hasattr(qb, name)] == []
