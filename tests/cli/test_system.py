"""version, info and system check speak plainly about the engine and the machine."""

import json


def test_version_text_and_format(docker):
    out = docker("version").stdout
    assert out.startswith("Client: Baleine\n Version:           0.1.0\n")
    assert "Server: Baleine Engine (no daemon)" in out
    assert docker("version", "--format", "{{.Client.Version}} {{.Server.ApiVersion}}").stdout == "0.1.0 1.47\n"
    assert docker("--version").stdout.startswith("Baleine version 0.1.0")


def test_info_reports_store_and_isolation(busybox):
    out = busybox("info").stdout
    assert f" Docker Root Dir: {busybox.root}\n" in out
    assert " Images: 1\n" in out and " Containers: 0\n" in out
    isolation = [l for l in out.splitlines() if l.startswith(" Isolation: ")]
    assert len(isolation) == 1 and ("root" in isolation[0] or "rootless" in isolation[0])
    assert " Degraded: " in out
    data = json.loads(busybox("info", "--format", "{{json .}}").stdout)
    assert data["Images"] == 1 and data["Isolation"]["rung"] in ("root", "userns-subuid", "userns-single", "none")


def test_system_check_on_an_empty_store(docker):
    assert docker("system", "check").stdout == "0 images, 0 references, 0 blobs checked: OK\n"
