"""The session's environment: which engine `docker` is, the shim folder, the rc file.

`docker` must be Baleine in the session, in subshells, `sh -c`, `env docker` and scripts,
even on a machine with a real Docker client: so a folder holding a `docker` shim goes
first on PATH. It lives in a stable per-venv cache folder (not /tmp, which would leak one
folder per killed kernel) and is rewritten only when its content changes.
"""

import functools
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import baleine

ENGINES = ("baleine", "docker", "podman")
DEFAULT_ENGINE = "baleine"

# Set for every session: plain text, no pager, UTF-8, unbuffered Python output.
SESSION_ENV = {
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "LC_ALL": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "DOCKER_CLI_HINTS": "false",  # the real docker client's "What's next" adverts
}

# Read by bash as --rcfile (no ~/.bashrc: every student gets the same session).
# BALEINE_KERNEL_MARK is the random prompt marker, passed by the kernel and removed here.
RCFILE = r"""# Written by the Baleine kernel; rewritten when the kernel changes.
set +o history          # kernel helper commands are not history, and no ~/.bash_history
set +H                  # no `!` expansion: `echo "hi!"` must work as in a script
stty -onlcr 2>/dev/null # keep "\n" as is, so a lone "\r" really is a progress update
hash -r

# Per-command status: the ERR trap fires for a failing top-level command under the same
# rules as `set -e` (not in `if`, `||`, `&&`...). The kernel reads the count in PS1 and,
# when it grew, asks for the first failure with __baleine_keep.
__baleine_n=0 __baleine_first= __baleine_quiet=
__baleine_on_err() {
  if [ -n "$__baleine_quiet" ]; then __baleine_quiet=; return; fi
  __baleine_n=$((__baleine_n + 1))
  [ -n "$__baleine_first" ] || __baleine_first="$1 $2"
}
trap '{ __baleine_on_err "$?" "$BASH_COMMAND"; } 2>/dev/null' ERR
# Runs a kernel helper (completion, status report) keeping $? and the failure count.
__baleine_keep() {
  local s=$?
  eval "$1"
  [ "$s" = 0 ] || __baleine_quiet=1
  return "$s"
}
PS1="${BALEINE_KERNEL_MARK}\[\][\$?:\$__baleine_n]>"
PS2="${BALEINE_KERNEL_MARK}\[\]+"
PROMPT_COMMAND=
unset BALEINE_KERNEL_MARK
"""


def engine_name() -> str:
    """The engine `docker` means in the session: BALEINE_KERNEL_ENGINE, default baleine."""
    name = os.environ.get("BALEINE_KERNEL_ENGINE", "").strip().lower() or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ValueError(f"BALEINE_KERNEL_ENGINE={name!r}: expected one of {', '.join(ENGINES)}")
    return name


def cache_dir() -> Path:
    """Stable per-venv folder: ~/.cache/baleine/kernel/<hash of sys.prefix>."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    venv = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    return Path(base) / "baleine" / "kernel" / venv


def package_root() -> str:
    """The folder holding the `baleine` package (`.../kernel` in the repository)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(baleine.__file__)))


@functools.cache
def pythonpath_needed() -> str | None:
    """The package root if a plain `python -P` elsewhere would not import this baleine
    (it is not installed, only on PYTHONPATH or pytest's pythonpath)."""
    root = package_root()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([sys.executable, "-P", "-c", "import baleine; print(baleine.__file__)"],
                           env=env, cwd="/", capture_output=True, text=True)
    found = os.path.dirname(os.path.dirname(os.path.abspath(probe.stdout.strip())))
    return None if probe.returncode == 0 and found == root else root


def _write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)  # atomic: a kernel starting at the same time sees old or new


def _shim_scripts(engine: str) -> dict[str, str]:
    header = "#!/bin/sh\n# Written by the Baleine kernel: `docker` in notebook sessions.\n"
    if engine == "podman":
        return {"docker": header + 'exec podman "$@"\n'}
    path = pythonpath_needed()
    setpath = f"PYTHONPATH='{path}'${{PYTHONPATH:+:$PYTHONPATH}}; export PYTHONPATH\n" if path else ""
    # -P: a folder named `baleine` in the notebook's folder must not shadow the package.
    run = f"exec '{sys.executable}' -P -m baleine \"$@\"\n"
    return {"docker": header + setpath + run, "baleine": header + setpath + run}


def prepare_files(engine: str) -> tuple[Path | None, Path]:
    """Write the shims and the rc file; return (shim folder or None, rc file)."""
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    rcfile = base / "bashrc"
    _write_if_changed(rcfile, RCFILE)
    if engine == "docker":
        return None, rcfile  # the real client, found on PATH as usual
    scripts = _shim_scripts(engine)
    key = hashlib.sha256(repr(sorted(scripts.items())).encode()).hexdigest()[:8]
    shims = base / f"bin-{engine}-{key}"
    shims.mkdir(exist_ok=True)
    for name, text in scripts.items():
        _write_if_changed(shims / name, text, 0o755)
    return shims, rcfile


def session_env(shims: Path | None, cwd: str) -> dict[str, str]:
    """The environment bash starts with."""
    env = dict(os.environ)
    env.update(SESSION_ENV)
    # Kernel-only variables (ipykernel/matplotlib) mean nothing to the session.
    for name in ("MPLBACKEND", "JPY_PARENT_PID", "PYDEVD_USE_FRAME_EVAL"):
        env.pop(name, None)
    if shims is not None:
        rest = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != str(shims)]
        env["PATH"] = os.pathsep.join([str(shims)] + rest)
    # A root per notebook when asked: BALEINE_KERNEL_ROOT, relative to the notebook's folder.
    root = env.get("BALEINE_KERNEL_ROOT")
    if root:
        env["BALEINE_ROOT"] = os.path.abspath(os.path.join(cwd, os.path.expanduser(root)))
    return env
