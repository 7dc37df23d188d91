"""The Python API, called in-process (as the engine would)."""

import os
import shutil
import threading

import pytest


def test_library_run_from_a_threaded_process(tmp_path):
    """The engine may call run() from a process with threads (a Jupyter kernel)."""
    if os.geteuid() != 0 or not os.path.exists("/bin/busybox"):
        pytest.skip("needs root and busybox")
    from baleine.runtime import run, default_spec, write_spec, state
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
    os.symlink("busybox", rootfs / "bin" / "sh")
    write_spec(str(tmp_path), default_spec(["sh", "-c", "echo threaded > /dev/stdout; exit 4"],
                                           rootfs=str(rootfs)))
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        code = run(str(tmp_path), "thr", state_dir=str(tmp_path / "state"), stdio=[None, fd, 2])
    finally:
        os.close(fd)
        stop.set()
        worker.join()
    assert code == 4
    assert out.read_text() == "threaded\n"
    assert state(str(tmp_path / "state"))["exit_code"] == 4
