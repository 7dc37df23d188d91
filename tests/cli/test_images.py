"""Golden output of the image commands: exact Docker tables, IDs, errors and exit codes."""

import json

import pytest

from tests.cli.archives import docker_archive, layer_tar, sha, stamp

WEEK = 7 * 24 * 3600


def _course_like(tags=("brunoe/helloworld_python:0.1",)):
    base = layer_tar({"bin/sh": b"x" * 7797760})
    app = layer_tar({"app/requirements.txt": b"flask\n" * 20})
    image = {
        "layers": [base, app],
        "created": stamp(120),
        "tags": list(tags),
        "history": [
            {"created": stamp(3 * WEEK), "created_by": "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": stamp(3 * WEEK), "created_by": 'CMD ["/bin/sh"]', "comment": "buildkit.dockerfile.v0",
             "empty_layer": True},
            {"created": stamp(125), "created_by": "WORKDIR /app", "comment": "buildkit.dockerfile.v0",
             "empty_layer": True},
            {"created": stamp(125), "created_by": "ARG BUILD_DATE=2024-05-01", "comment": "buildkit.dockerfile.v0",
             "empty_layer": True},
            {"created": stamp(125), "created_by": "COPY requirements.txt . # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": stamp(125), "created_by": 'CMD ["python" "app.py"]', "comment": "buildkit.dockerfile.v0",
             "empty_layer": True},
        ],
    }
    return image


@pytest.fixture
def course(docker, tmp_path):
    archive = tmp_path / "img.tar"
    archive.write_bytes(docker_archive([_course_like()]))
    out = docker("load", "-i", str(archive)).stdout
    assert out == "Loaded image: brunoe/helloworld_python:0.1\n"
    return docker


def test_history_table_is_docker_exact(course):
    image_id = course("images", "-q").stdout.strip()
    out = course("history", "brunoe/helloworld_python:0.1").stdout
    size_base = layer_tar({"bin/sh": b"x" * 7797760})
    assert len(size_base) == 7802880  # 7.8MB with precision 3
    expected = (
        "IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT\n"
        f"{image_id}   2 minutes ago   CMD [\"python\" \"app.py\"]                         0B        buildkit.dockerfile.v0\n"
        "<missing>      2 minutes ago   COPY requirements.txt . # buildkit              10.2kB    buildkit.dockerfile.v0\n"
        "<missing>      2 minutes ago   ARG BUILD_DATE=2024-05-01                       0B        buildkit.dockerfile.v0\n"
        "<missing>      2 minutes ago   WORKDIR /app                                    0B        buildkit.dockerfile.v0\n"
        "<missing>      3 weeks ago     CMD [\"/bin/sh\"]                                 0B        buildkit.dockerfile.v0\n"
        "<missing>      3 weeks ago     ADD alpine-minirootfs-3.20.0-x86_64.tar.gz /…   7.8MB     buildkit.dockerfile.v0\n"
    )
    assert out == expected


def test_history_flags(course):
    quiet = course("history", "-q", "brunoe/helloworld_python:0.1").stdout.splitlines()
    assert len(quiet) == 6 and quiet[1:] == ["<missing>"] * 5 and len(quiet[0]) == 12
    full = course("history", "--no-trunc", "-q", "brunoe/helloworld_python:0.1").stdout.splitlines()
    assert full[0].startswith("sha256:") and len(full[0]) == 71
    raw = course("history", "-H=false", "brunoe/helloworld_python:0.1").stdout.splitlines()
    assert raw[0].split() == ["IMAGE", "CREATED", "AT", "CREATED", "BY", "SIZE", "COMMENT"]
    assert raw[-1].split()[-2] == "7802880" and raw[-1].split()[1].endswith("Z")
    fmt = course("history", "--format", "{{.ID}}: {{.CreatedSince}}", "brunoe/helloworld_python:0.1").stdout
    assert fmt.splitlines()[1] == "<missing>: 2 minutes ago"
    notrunc = course("history", "--no-trunc", "brunoe/helloworld_python:0.1").stdout
    assert "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit" in notrunc


def test_images_table_and_tags(course):
    course("tag", "brunoe/helloworld_python:0.1", "brunoe/helloworld_python:0")
    course("tag", "brunoe/helloworld_python:0.1", "brunoe/helloworld_python")
    image_id = course("images", "-q").stdout.split()[0]
    out = course("images").stdout
    assert out == (
        "REPOSITORY                 TAG       IMAGE ID       CREATED         SIZE\n"
        f"brunoe/helloworld_python   0         {image_id}   2 minutes ago   7.81MB\n"
        f"brunoe/helloworld_python   0.1       {image_id}   2 minutes ago   7.81MB\n"
        f"brunoe/helloworld_python   latest    {image_id}   2 minutes ago   7.81MB\n"
    )
    # One ID per row, as Docker prints it.
    assert course("images", "-q").stdout == f"{image_id}\n" * 3
    grep = [" ".join(l.split()) for l in out.splitlines() if "brunoe/helloworld_python" in l]
    assert grep[0] == f"brunoe/helloworld_python 0 {image_id} 2 minutes ago 7.81MB"


def test_images_json_and_templates(course):
    line = course("images", "--format", "json").stdout.strip()
    obj = json.loads(line)
    assert list(obj) == sorted(obj)
    assert obj["Repository"] == "brunoe/helloworld_python" and obj["Tag"] == "0.1"
    assert obj["Digest"] == "<none>" and "\\u003cnone\\u003e" in line
    custom = course("images", "--format", "table {{.Repository}}:{{.Tag}}\t{{.Size}}").stdout
    assert custom == "REPOSITORY:TAG                 SIZE\nbrunoe/helloworld_python:0.1   7.81MB\n"


def test_images_filters(course, tmp_path):
    other = _course_like(tags=["other/thing:1"])
    other["config"] = {"Cmd": ["sh"], "Labels": {"stage": "test"}}
    other["created"] = stamp(30)
    archive = tmp_path / "other.tar"
    archive.write_bytes(docker_archive([other]))
    course("load", "-i", str(archive))
    names = lambda *a: course("images", "--format", "{{.Repository}}:{{.Tag}}", *a).stdout.split()
    assert names() == ["other/thing:1", "brunoe/helloworld_python:0.1"]
    assert names("brunoe/*") == ["brunoe/helloworld_python:0.1"]
    assert names("--filter", "reference=*/thing") == ["other/thing:1"]
    assert names("--filter", "label=stage=test") == ["other/thing:1"]
    assert names("--filter", "label=stage") == ["other/thing:1"]
    assert names("--filter", "since=brunoe/helloworld_python:0.1") == ["other/thing:1"]
    assert names("--filter", "before=other/thing:1") == ["brunoe/helloworld_python:0.1"]
    assert names("--filter", "dangling=false") == ["other/thing:1", "brunoe/helloworld_python:0.1"]
    course("tag", "other/thing:1", "brunoe/helloworld_python:0.1")  # the old image is now dangling
    assert names("--filter", "dangling=true") == ["<none>:<none>"]
    bad = course("images", "--filter", "color=blue", check=False)
    assert bad.returncode == 1 and bad.stderr == "Error response from daemon: invalid filter 'color'\n"


def test_images_digests_column(course):
    out = course("images", "--digests").stdout.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert out[1].split()[2] == "<none>"


def test_rmi_untagged_and_deleted_lines(course):
    image_id = course("images", "--no-trunc", "-q").stdout.strip()
    course("tag", "brunoe/helloworld_python:0.1", "mygit:latest")
    assert course("rmi", "mygit").stdout == "Untagged: mygit:latest\n"
    out = course("image", "rm", "brunoe/helloworld_python:0.1").stdout.splitlines()
    assert out[0] == "Untagged: brunoe/helloworld_python:0.1"
    assert out[1] == f"Deleted: {image_id}"
    # then one line per layer no other image uses (chain IDs, top layer first)
    assert len(out) == 4 and all(l.startswith("Deleted: sha256:") for l in out[2:])
    assert course("images", "-q").stdout == ""
    assert course("system", "check").returncode == 0


def test_rmi_keeps_shared_layers(docker, tmp_path):
    base = layer_tar({"etc/base": b"base"})
    top = layer_tar({"etc/top": b"top"})
    hist = lambda n: [{"created": stamp(60), "created_by": f"step {i}"} for i in range(n)]
    archive = tmp_path / "two.tar"
    archive.write_bytes(docker_archive([
        {"layers": [base], "history": hist(1), "tags": ["base:1"]},
        {"layers": [base, top], "history": hist(2), "tags": ["child:1"]},
    ]))
    docker("load", "-i", str(archive))
    out = docker("rmi", "child:1").stdout.splitlines()
    assert out[0] == "Untagged: child:1" and len(out) == 3  # image + its own top layer only
    from baleine.engine.images import chain_ids
    assert out[2] == f"Deleted: {chain_ids([sha(base), sha(top)])[1]}"
    assert docker("images", "--format", "{{.Repository}}").stdout == "base\n"
    assert docker("system", "check").returncode == 0


def test_rmi_errors(course):
    missing = course("rmi", "nosuch", check=False)
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: No such image: nosuch:latest\n"
    forced = course("rmi", "-f", "nosuch", check=False)
    assert forced.returncode == 0 and "No such image: nosuch:latest" in forced.stderr
    course("tag", "brunoe/helloworld_python:0.1", "second/repo:1")
    image_id = course("images", "-q").stdout.split()[0]
    conflict = course("rmi", image_id, check=False)
    assert conflict.returncode == 1 and conflict.stderr == (
        f"Error response from daemon: conflict: unable to delete {image_id} (must be forced) - "
        "image is referenced in multiple repositories\n")
    out = course("rmi", "-f", image_id).stdout.splitlines()
    assert sorted(out[:2]) == ["Untagged: brunoe/helloworld_python:0.1", "Untagged: second/repo:1"]
    assert out[2].startswith("Deleted: sha256:")


def test_tag_errors(course):
    bad = course("tag", "brunoe/helloworld_python:0.1", "Bad:Name", check=False)
    assert bad.returncode == 1
    assert bad.stderr == ('Error response from daemon: error parsing reference: "Bad:Name" is not a valid '
                          "repository/tag: invalid reference format: repository name (library/Bad) must be lowercase\n")
    missing = course("tag", "nosuch", "x:1", check=False)
    assert missing.stderr == "Error response from daemon: No such image: nosuch:latest\n"
    usage = course("tag", "onlyone", check=False)
    assert usage.returncode == 1 and usage.stderr.startswith('"docker image tag" requires exactly 2 arguments.')


def test_inspect_shape_and_format(course):
    data = json.loads(course("image", "inspect", "brunoe/helloworld_python:0.1").stdout)
    assert len(data) == 1
    obj = data[0]
    for key in ("Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Config", "Architecture",
                "Os", "Size", "RootFS", "Metadata"):
        assert key in obj
    assert obj["RepoTags"] == ["brunoe/helloworld_python:0.1"] and obj["Config"]["Cmd"] == ["sh"]
    text = course("image", "inspect", "brunoe/helloworld_python:0.1").stdout
    assert text.startswith("[\n    {\n        \"Id\": \"sha256:")
    assert course("inspect", "--format", "{{.Os}}/{{.Architecture}} {{index .RepoTags 0}}",
                  "brunoe/helloworld_python:0.1").stdout == "linux/amd64 brunoe/helloworld_python:0.1\n"
    missing = course("inspect", "nosuch", check=False)
    assert missing.returncode == 1 and missing.stdout == "[]\n" and missing.stderr == "Error: No such object: nosuch\n"


def test_prune_removes_only_dangling_images(course, tmp_path):
    old_id = course("images", "--no-trunc", "-q").stdout.strip()
    newer = _course_like()
    newer["history"][-1]["created_by"] = 'CMD ["python" "other.py"]'
    archive = tmp_path / "newer.tar"
    archive.write_bytes(docker_archive([newer]))
    loaded = course("load", "-i", str(archive)).stdout
    assert loaded == (f"The image brunoe/helloworld_python:0.1 already exists, renaming the old one with ID "
                      f"{old_id} to empty string\nLoaded image: brunoe/helloworld_python:0.1\n")
    assert course("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.count("<none>:<none>") == 1
    out = course("image", "prune", "-f").stdout
    # The layers are shared with the tagged image: only the image itself goes.
    assert out == f"Deleted Images:\ndeleted: {old_id}\n\nTotal reclaimed space: 0B\n"
    assert "<none>" not in course("images").stdout
    assert course("image", "prune", "-f").stdout == "Total reclaimed space: 0B\n"


def test_flag_errors_are_docker_style(docker):
    bad = docker("images", "--bogus", check=False)
    assert bad.returncode == 125
    assert bad.stderr == "unknown flag: --bogus\nSee 'docker image ls --help'.\n"
    short = docker("images", "-z", check=False)
    assert short.stderr == "unknown shorthand flag: 'z' in -z\nSee 'docker image ls --help'.\n"
    unknown = docker("frobnicate", check=False)
    assert unknown.returncode == 1 and "'frobnicate' is not a docker command" in unknown.stderr
    helptext = docker("images", "--help").stdout
    assert helptext.startswith("Usage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]")


def test_empty_store_lists_headers_only(docker):
    assert docker("images").stdout == "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    assert docker("images", "-q").stdout == ""
