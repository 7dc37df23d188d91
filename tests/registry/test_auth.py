"""login/logout and authenticated push/pull: htpasswd Basic auth and Bearer tokens from a token
server, with credentials in Docker's config.json (mode 0600, never printed)."""

import base64
import json
import os
import stat

from tests.registry.conftest import PASSWORD, USER
from tests.registry.helpers import repo_name


def _config(docker) -> tuple[dict, int]:
    path = os.path.join(docker.env["DOCKER_CONFIG"], "config.json")
    with open(path) as f:
        return json.load(f), stat.S_IMODE(os.stat(path).st_mode)


def test_basic_login_push_pull_logout(reg_docker, fresh, basic_registry):
    host = basic_registry.host
    name = f"{host}/{repo_name()}:1"
    reg_docker("tag", "busybox", name)
    denied = reg_docker("push", name, check=False)
    assert denied.returncode == 1 and "unauthorized: authentication required" in denied.stderr

    wrong = reg_docker("login", "-u", USER, "-p", "wrong", host, check=False)
    assert wrong.returncode == 1
    assert wrong.stderr == ("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
                            f'Error response from daemon: Get "http://{host}/v2/": unauthorized: '
                            "authentication required\n")
    assert not os.path.exists(os.path.join(reg_docker.env["DOCKER_CONFIG"], "config.json"))

    ok = reg_docker("login", "-u", USER, "-p", PASSWORD, host)
    assert ok.stdout == "Login Succeeded\n"
    assert ok.stderr.startswith("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    assert PASSWORD not in ok.stdout + ok.stderr
    config, mode = _config(reg_docker)
    assert mode == 0o600
    assert base64.b64decode(config["auths"][host]["auth"]).decode() == f"{USER}:{PASSWORD}"

    reg_docker("push", name)
    pulled = fresh("pull", name)  # shares DOCKER_CONFIG: the stored credentials are used
    assert pulled.out_lines[-1] == name

    out = reg_docker("logout", host)
    assert out.stdout == f"Removing login credentials for {host}\n"
    config, mode = _config(reg_docker)
    assert config["auths"] == {} and mode == 0o600
    assert reg_docker("logout", host).stdout == f"Not logged in to {host}\n"
    again = fresh("pull", name, check=False)
    assert again.returncode == 1
    assert "pull access denied for" in again.stderr and "may require 'docker login'" in again.stderr


def test_password_stdin_keeps_other_settings(reg_docker, basic_registry):
    host = basic_registry.host
    os.makedirs(reg_docker.env["DOCKER_CONFIG"], exist_ok=True)
    path = os.path.join(reg_docker.env["DOCKER_CONFIG"], "config.json")
    with open(path, "w") as f:
        json.dump({"psFormat": "{{.ID}}", "auths": {"other.example": {"auth": "eDp5"}}}, f)
    os.chmod(path, 0o644)
    out = reg_docker("login", "-u", USER, "--password-stdin", host, input=PASSWORD + "\n")
    assert out.stdout == "Login Succeeded\n" and "--password via the CLI" not in out.stderr
    config, mode = _config(reg_docker)
    assert mode == 0o600 and config["psFormat"] == "{{.ID}}" and set(config["auths"]) == {"other.example", host}
    bad = reg_docker("login", "--password-stdin", host, input="x", check=False)
    assert bad.returncode == 1 and bad.stderr == "Must provide --username with --password-stdin\n"


def test_token_auth_push_pull(reg_docker, fresh, token_registry):
    host = token_registry.host
    tokens = token_registry.tokens
    name = f"{host}/{repo_name()}:1"
    reg_docker("tag", "busybox", name)
    anonymous = reg_docker("push", name, check=False)  # an anonymous token grants pull only
    assert anonymous.returncode == 1 and "authentication required" in anonymous.stderr

    wrong = reg_docker("login", "-u", USER, "-p", "nope", host, check=False)
    assert wrong.returncode == 1
    assert wrong.stderr.endswith(f'Error response from daemon: Get "http://{host}/v2/": '
                                 "unauthorized: incorrect username or password\n")
    reg_docker("login", "-u", USER, "--password-stdin", host, input=PASSWORD)
    before = len(tokens.requests)
    out = reg_docker("push", name).out_lines
    assert out[-1].startswith("1: digest: sha256:")
    # One token for the repository's pull,push scope, reused for every request of the push.
    asked = tokens.requests[before:]
    assert [r["scope"] for r in asked] == [[f"repository:{name.split('/', 1)[1].split(':')[0]}:pull,push"]]
    assert all(r["user"] == USER for r in asked)
    # A second repository mounts the layer: one token for both scopes (push here, pull there).
    other = f"{host}/{repo_name()}:1"
    reg_docker("tag", "busybox", other)
    mounted = reg_docker("push", other).out_lines
    assert mounted[2].endswith(f": Mounted from {name.split('/', 1)[1].split(':')[0]}"), mounted
    assert sorted(tokens.requests[-1]["scope"]) == sorted([
        f"repository:{other.split('/', 1)[1].split(':')[0]}:pull,push",
        f"repository:{name.split('/', 1)[1].split(':')[0]}:pull"])
    assert fresh("pull", name).out_lines[-1] == name
    fresh("logout", host)
    anon = type(fresh)(fresh.root + "-anon")  # anonymous pull of a repository the token server lets anyone read
    anon.env.update({k: fresh.env[k] for k in ("XDG_CONFIG_HOME", "DOCKER_CONFIG")})
    assert anon("pull", name).out_lines[-1] == name
    assert tokens.requests[-1]["user"] is None
