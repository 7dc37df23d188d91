"""`docker build` on the busybox stand-in: history rows, config, cache, context, errors."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import textwrap

import pytest


def write(directory, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
    return str(directory)


def history(docker, image) -> list[tuple[str, bool]]:
    config = inspect_config(docker, image)
    return [(h.get("created_by", ""), bool(h.get("empty_layer"))) for h in config["history"]]


def inspect_config(docker, image) -> dict:
    image_id = docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()
    with open(os.path.join(docker.root, "images", "blobs", "sha256", image_id.split(":")[1])) as f:
        return json.load(f)


def layer_names(docker, image, index: int) -> list[str]:
    config = inspect_config(docker, image)
    diff_id = config["rootfs"]["diff_ids"][index]
    with tarfile.open(os.path.join(docker.root, "images", "blobs", "sha256", diff_id.split(":")[1])) as tf:
        return [m.name for m in tf]


def test_history_and_config_as_buildkit_writes_them(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": """\
            FROM busybox
            ARG BUILD_DATE
            LABEL maintainer="emmanuel.bruno@univ-tln.fr"
            LABEL org.label-schema.build-date=$BUILD_DATE
            ENV NAME="John Doe"
            WORKDIR /app
            COPY hello.txt ./
            RUN echo built > /built
            EXPOSE 80 443/udp
            VOLUME /data
            USER nobody
            STOPSIGNAL SIGTERM
            HEALTHCHECK --interval=30s CMD true
            ENTRYPOINT ["cat"]
            CMD ["/built"]
            """,
        "hello.txt": "hello\n"})
    busybox("build", "--build-arg", "BUILD_DATE=2024-05-01", "-t", "demo", ctx)
    rows = history(busybox, "demo")[1:]
    assert rows == [
        ("ARG BUILD_DATE=2024-05-01", True),
        ("LABEL maintainer=emmanuel.bruno@univ-tln.fr", True),
        ("LABEL org.label-schema.build-date=2024-05-01", True),
        ("ENV NAME=John Doe", True),
        ("WORKDIR /app", False),
        ("COPY hello.txt ./ # buildkit", False),
        ("RUN |1 BUILD_DATE=2024-05-01 /bin/sh -c echo built > /built # buildkit", False),
        ("EXPOSE [443/udp 80/tcp]", True),
        ("VOLUME [/data]", True),
        ("USER nobody", True),
        ("STOPSIGNAL SIGTERM", True),
        ("HEALTHCHECK {Test:[CMD-SHELL true] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}", True),
        ('ENTRYPOINT ["cat"]', True),
        ('CMD ["/built"]', True),
    ]
    config = inspect_config(busybox, "demo")
    assert all(h["comment"] == "buildkit.dockerfile.v0" for h in config["history"][1:])
    assert len(config["rootfs"]["diff_ids"]) == 1 + sum(not e for _, e in rows)
    inner = config["config"]
    assert inner["Env"][-1] == "NAME=John Doe"
    assert inner["WorkingDir"] == "/app"
    assert inner["Labels"] == {"maintainer": "emmanuel.bruno@univ-tln.fr",
                               "org.label-schema.build-date": "2024-05-01"}
    assert inner["ExposedPorts"] == {"443/udp": {}, "80/tcp": {}}
    assert inner["Volumes"] == {"/data": {}}
    assert inner["User"] == "nobody" and inner["StopSignal"] == "SIGTERM"
    assert inner["Entrypoint"] == ["cat"] and inner["Cmd"] == ["/built"]
    assert inner["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000}
    # the RUN layer holds only its change: no /proc, /etc/hosts mount points
    assert layer_names(busybox, "demo", -1) == ["built"]
    assert busybox("run", "--rm", "demo").stdout == "built\n"
    # metadata rows carry the time of the first new layer, as BuildKit's exporter fills them
    times = [h["created"] for h in config["history"][1:]]
    assert times[0] == times[4] and config["created"] == times[-1]


def test_second_build_is_cached_and_gives_the_same_image(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY a /a\nRUN cat /a > /b\nCOPY c /c\n",
                           "a": "1\n", "c": "x\n"})
    first = busybox("build", "-t", "c1", ctx)
    assert "CACHED" not in first.stderr
    second = busybox("build", "-t", "c1", ctx)
    assert second.stderr.count("CACHED") == 3
    assert re.search(r"#(\d+) \[3/4\] RUN cat /a > /b\n#\1 CACHED\n", second.stderr)
    ids = {busybox("build", "-q", ctx).stdout.strip() for _ in range(2)}
    assert len(ids) == 1 and ids == {busybox("image", "inspect", "--format", "{{.Id}}", "c1").stdout.strip()}
    # a changed source reruns its COPY and what follows, not what precedes
    write(tmp_path / "ctx", {"c": "y\n"})
    third = busybox("build", ctx).stderr
    assert third.count("CACHED") == 2 and re.search(r"\[4/4\] COPY c /c\n#\d+ DONE", third)
    # --no-cache runs everything again
    assert "CACHED" not in busybox("build", "--no-cache", ctx).stderr
    pruned = busybox("builder", "prune", "-f").stdout
    assert pruned.startswith("Total reclaimed space: ")
    assert "CACHED" not in busybox("build", ctx).stderr


def test_plain_progress_lines(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo out; echo err >&2\n"})
    err = busybox("build", "--progress", "plain", "-t", "x", ctx).stderr
    lines = err.splitlines()
    assert lines[0] == "#1 [internal] load build definition from Dockerfile"
    assert lines[1].startswith("#1 transferring dockerfile: ") and lines[2] == "#1 DONE 0.0s"
    assert "#2 [internal] load metadata for docker.io/library/busybox:latest" in lines
    assert any(line.startswith("#4 [1/2] FROM docker.io/library/busybox:latest@sha256:") for line in lines)
    assert "#5 [2/2] RUN echo out; echo err >&2" in lines
    outs = [line.split(" ", 2) for line in lines if line.startswith("#5 0.")]
    assert sorted(text for _, _, text in outs) == ["err", "out"]
    assert "#6 exporting to image" in lines
    assert any(line.startswith("#6 writing image sha256:") and line.endswith(" done") for line in lines)
    assert "#6 naming to docker.io/library/x:latest done" in lines
    assert busybox("build", "--progress", "quiet", ctx).stderr == ""


def test_quiet_build_from_stdin_prints_only_the_id(busybox, tmp_path):
    dockerfile = "FROM busybox\nVOLUME /workdir\nWORKDIR /workdir\nENTRYPOINT [\"echo\",\"-n\"]\nCMD [\"--version\"]\n"
    result = busybox("build", "--quiet", "--tag", "sq", "-", input=dockerfile)
    assert result.stderr == ""
    assert result.stdout.startswith("sha256:") and len(result.stdout) == 72
    image_id = busybox("image", "inspect", "--format", "{{.Id}}", "sq").stdout.strip()
    assert result.stdout.strip() == image_id
    iid = tmp_path / "iid"
    busybox("build", "-q", "--iidfile", str(iid), "-", input=dockerfile)
    assert iid.read_text() == image_id
    assert busybox("run", "--rm", "sq").stdout == "--version"


def test_dockerignore_patterns_and_exceptions(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        ".dockerignore": "# comment\n*.log\n!keep.log\n**/cache\n/secret\nbuild/\n",
        "a.txt": "a", "x.log": "x", "keep.log": "k", "secret": "s",
        "sub/cache/f": "f", "sub/b.txt": "b", "cache/g": "g", "build/out": "o", "sub/y.log": "y"})
    busybox("build", "-t", "ign", ctx)
    names = busybox("run", "--rm", "ign", "find", "/ctx", "-type", "f").stdout.split()
    assert sorted(names) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/a.txt", "/ctx/keep.log",
                             "/ctx/sub/b.txt", "/ctx/sub/y.log"]
    # an ignored file is missing for COPY, with BuildKit's error
    write(tmp_path / "ctx", {"Dockerfile.2": "FROM busybox\nCOPY secret /s\n"})
    failed = busybox("build", "-f", str(tmp_path / "ctx" / "Dockerfile.2"), ctx, check=False)
    assert failed.returncode == 1
    assert failed.stderr.endswith('"/secret": not found\n')


def test_multistage_target_and_skipped_stages(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": """\
        FROM busybox AS base
        RUN echo base > /base

        FROM base AS broken
        RUN exit 1

        FROM busybox AS builder
        RUN mkdir /out && echo built > /out/app

        FROM busybox
        COPY --from=builder /out/app /app
        COPY --from=0 /base /base
        CMD ["cat", "/app", "/base"]
        """})
    result = busybox("build", "-t", "ms", ctx)
    assert "RUN exit 1" not in result.stderr  # the broken stage is not needed
    assert "[builder 2/2] RUN mkdir /out" in result.stderr
    assert "[stage-3 2/3] COPY --from=builder /out/app /app" in result.stderr
    assert busybox("run", "--rm", "ms").stdout == "built\nbase\n"
    assert history(busybox, "ms")[-3:] == [("COPY /out/app /app # buildkit", False),
                                           ("COPY /base /base # buildkit", False),
                                           ('CMD ["cat" "/app" "/base"]', True)]
    busybox("build", "--target", "base", "-t", "ms-base", ctx)
    assert busybox("run", "--rm", "ms-base", "cat", "/base").stdout == "base\n"
    failed = busybox("build", "--target", "nope", ctx, check=False)
    assert failed.returncode == 1
    assert failed.stderr.endswith('ERROR: failed to solve: target stage "nope" could not be found\n')


def _images(docker) -> str:
    return docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout


@pytest.mark.parametrize("dockerfile, files, tail", [
    ("FROM busybox\nRUN true\nFOO bar\n", {},
     ("Dockerfile:3\n--------------------\n   1 |     FROM busybox\n   2 |     RUN true\n"
     "   3 | >>> FOO bar\n   4 |     \n--------------------\n"
     "ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)\n")),
    ("FROM busybox\nCOPY nope /x\n", {},
     ("Dockerfile:2\n--------------------\n   1 |     FROM busybox\n   2 | >>> COPY nope /x\n   3 |     \n"
      "--------------------\nERROR: failed to solve: failed to compute cache key: ")),
    ("FROM busybox\nRUN echo failing; exit 3\n", {},
     ("------\n > [2/2] RUN echo failing; exit 3:\nfailing\n------\nDockerfile:2\n--------------------\n"
     "   1 |     FROM busybox\n   2 | >>> RUN echo failing; exit 3\n   3 |     \n--------------------\n"
     "ERROR: failed to solve: process \"/bin/sh -c echo failing; exit 3\" did not complete successfully: "
     "exit code: 3\n")),
])
def test_errors_as_buildkit_reports_them(busybox, tmp_path, dockerfile, files, tail):
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile, **files})
    before = _images(busybox)
    result = busybox("build", "-t", "broken", ctx, check=False)
    assert result.returncode == 1
    assert tail in result.stderr and result.stderr.endswith("\n")
    assert "Traceback" not in result.stderr
    assert _images(busybox) == before  # nothing half-built is tagged


def test_copy_missing_source_message(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY /nope /x\n"})
    err = busybox("build", ctx, check=False).stderr.splitlines()[-1]
    assert err.startswith("ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref ")
    assert err.endswith(': "/nope": not found')


def test_source_date_epoch_gives_the_same_image(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nWORKDIR /w\nCOPY f .\nRUN touch /stamp; echo x > /x; sleep 1\nCMD [\"cat\", \"/x\"]\n",
                           "f": "f\n"})
    busybox.env["SOURCE_DATE_EPOCH"] = "1700000000"
    first = busybox("build", "-q", "--no-cache", ctx).stdout
    second = busybox("build", "-q", "--no-cache", ctx).stdout
    assert first == second
    config = inspect_config(busybox, first.strip())
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert {h["created"] for h in config["history"][1:]} == {"2023-11-14T22:13:20Z"}
    del busybox.env["SOURCE_DATE_EPOCH"]


def test_copy_flags_heredocs_and_run_forms(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": """\
        # syntax=docker/dockerfile:1
        FROM busybox
        COPY --chown=nobody:nobody --chmod=640 a.txt b.txt /dst/
        COPY sub/*.c /src/
        COPY <<EOF /etc/greeting
        hello $USER
        EOF
        RUN <<EOF
        echo from heredoc > /h
        EOF
        RUN ["sh", "-c", "echo exec > /e"]
        SHELL ["/bin/sh", "-ec"]
        RUN echo shell > /s
        """, "a.txt": "a", "b.txt": "b", "sub/x.c": "x", "sub/y.c": "y", "sub/z.h": "z"})
    busybox("build", "-t", "flags", ctx)
    out = busybox("run", "--rm", "flags", "sh", "-c",
                  "stat -c '%n %a %u:%g' /dst/a.txt /dst/b.txt; ls /src; cat /etc/greeting /h /e /s").stdout
    assert out == ("/dst/a.txt 640 65534:65534\n/dst/b.txt 640 65534:65534\nx.c\ny.c\n"
                   "hello \nfrom heredoc\nexec\nshell\n")
    rows = [r for r, _ in history(busybox, "flags")[1:]]
    assert rows == ["COPY --chown=nobody:nobody --chmod=640 a.txt b.txt /dst/ # buildkit",
                    "COPY sub/*.c /src/ # buildkit",
                    "COPY <<EOF /etc/greeting # buildkit",
                    "RUN /bin/sh -c echo from heredoc > /h\n # buildkit",
                    "RUN sh -c echo exec > /e # buildkit",
                    "SHELL [/bin/sh -ec]",
                    "RUN /bin/sh -ec echo shell > /s # buildkit"]


def test_add_archive_and_url_with_checksum(busybox, tmp_path):
    import hashlib
    import http.server
    import threading
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.txt").write_text("remote\n")
    digest = "sha256:" + hashlib.sha256(b"remote\n").hexdigest()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("pkg/file")
        info.size, info.mode, info.uid = 3, 0o600, 42
        tf.addfile(info, io.BytesIO(b"abc"))
    (ctx / "pkg.tar.gz").write_bytes(buf.getvalue())
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/data.txt"
    try:
        write(ctx, {"Dockerfile": f"FROM busybox\nADD pkg.tar.gz /opt/\nADD --checksum={digest} {url} /r/\n"})
        busybox("build", "-t", "add", str(ctx))
        out = busybox("run", "--rm", "add", "sh", "-c", "stat -c '%n %a %u' /opt/pkg/file /r/data.txt; cat /r/data.txt").stdout
        assert out == "/opt/pkg/file 600 42\n/r/data.txt 600 0\nremote\n"
        write(ctx, {"Dockerfile": f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {url} /r/\n"})
        failed = busybox("build", str(ctx), check=False)
        assert failed.returncode == 1 and f"ERROR: failed to solve: digest mismatch {digest}" in failed.stderr
    finally:
        server.shutdown()


def test_onbuild_triggers_run_in_the_child(busybox, tmp_path):
    parent = write(tmp_path / "p", {"Dockerfile": "FROM busybox\nONBUILD RUN echo triggered > /t\n"})
    busybox("build", "-t", "parent", parent)
    assert inspect_config(busybox, "parent")["config"]["OnBuild"] == ["RUN echo triggered > /t"]
    child = write(tmp_path / "c", {"Dockerfile": "FROM parent\nCMD [\"cat\", \"/t\"]\n"})
    busybox("build", "-t", "child", child)
    assert busybox("run", "--rm", "child").stdout == "triggered\n"
    assert "OnBuild" not in inspect_config(busybox, "child")["config"]


def test_labels_and_scratch(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "data"})
    busybox("build", "--label", "a=1", "--label", "b=2", "-t", "scr", ctx)
    config = inspect_config(busybox, "scr")
    assert config["config"] == {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                "WorkingDir": "/", "Labels": {"a": "1", "b": "2"}}
    assert [h["created_by"] for h in config["history"]] == ["COPY f /f # buildkit"]


def test_args_user_workdir_script_heredoc_network_and_copy_from_image(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": """\
        ARG BASE=busybox
        ARG GREETING=hi
        FROM $BASE AS first
        ARG GREETING
        ENV MSG="$GREETING world"
        RUN mkdir /home/n && chown nobody:nobody /home/n
        USER nobody
        WORKDIR /home/n/work
        RUN id -u > uid && echo "$MSG" > msg
        RUN <<EOF
        #!/bin/sh
        echo "script $MSG" > /home/n/script
        EOF
        RUN --network=none cat /proc/net/dev | wc -l > /home/n/net
        VOLUME /home/n/work
        RUN echo kept > /home/n/work/after-volume

        FROM scratch
        COPY --from=first /home/n /n
        COPY --from=busybox /bin/busybox /bin/
        """})
    busybox("build", "--build-arg", "GREETING=salut", "-t", "mix", ctx)
    out = busybox("run", "--rm", "mix", "/bin/busybox", "sh", "-c",
                  "cd /n && /bin/busybox cat work/uid work/msg script net work/after-volume && "
                  "/bin/busybox stat -c '%n %u' work work/msg").stdout
    # no network namespace but lo: two header lines and lo; a VOLUME is not mounted during a build;
    # COPY --from keeps the stage's owners
    assert out == "65534\nsalut world\nscript salut world\n3\nkept\nwork 65534\nwork/msg 65534\n"
    rows = [r for r, _ in history(busybox, "mix")]
    assert rows == ["COPY /home/n /n # buildkit", "COPY /bin/busybox /bin/ # buildkit"]


def test_lint_warnings_after_the_build(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nMAINTAINER me\nENV a b\nCMD echo hi\n"})
    err = busybox("build", ctx).stderr
    assert err.endswith(
        " 3 warnings found (use docker --debug to expand):\n"
        " - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)\n"
        ' - LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 3)\n'
        " - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior "
        "related to OS signals (line 4)\n")
    assert busybox("build", "-q", ctx).stderr == ""


def test_copy_exclude(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY --exclude=*.log ex /ex/\nCOPY --exclude=sub ex/* /ex2/\n",
                                   "ex/a.txt": "", "ex/b.log": "", "ex/sub/c.log": "", "ex/sub/d.txt": ""})
    busybox("build", "-t", "exc", ctx)
    found = busybox("run", "--rm", "exc", "find", "/ex", "/ex2", "-type", "f").stdout.split()
    assert sorted(found) == ["/ex/a.txt", "/ex/sub/c.log", "/ex/sub/d.txt", "/ex2/a.txt", "/ex2/b.log"]


def test_run_mounts_cache_bind_tmpfs(busybox, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": """\
        FROM busybox
        RUN --mount=type=cache,target=/root/.cache echo x >> /root/.cache/n && wc -l < /root/.cache/n > /count
        RUN --mount=type=bind,source=d,target=/mnt cat /mnt/f > /copied
        RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /listed
        """, "d/f": "from the context\n"})
    busybox("build", "-t", "mnt", ctx)
    busybox("build", "--no-cache", "-t", "mnt", ctx)
    out = busybox("run", "--rm", "mnt", "sh", "-c", "cat /count /copied /listed; ls -d /mnt /scratch /root/.cache 2>/dev/null; true").stdout
    assert out == "2\nfrom the context\nx\n"  # the cache mount outlived the first build; no mount points left
