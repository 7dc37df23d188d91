import pytest

from baleine import reference
from baleine.errors import InvalidReference


@pytest.mark.parametrize("text,full,familiar", [
    ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("brunoe/x:0.1", "docker.io/brunoe/x:0.1", "brunoe/x:0.1"),
    ("library/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("index.docker.io/brunoe/x", "docker.io/brunoe/x:latest", "brunoe/x:latest"),
    ("docker.io/library/debian:bookworm-slim", "docker.io/library/debian:bookworm-slim", "debian:bookworm-slim"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000/a/b/c:v1"),
    ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:" + "a" * 64),
    ("a__b-c/e.f", "docker.io/a__b-c/e.f:latest", "a__b-c/e.f:latest"),
])
def test_normalisation_matches_docker(text, full, familiar):
    ref = reference.parse(text).with_default_tag()
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize("text,message", [
    ("Bad:Name", "invalid reference format: repository name (library/Bad) must be lowercase"),
    ("brunoe/Hello", "invalid reference format: repository name (brunoe/Hello) must be lowercase"),
    ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
    ("", "invalid reference format"),
    ("foo:bar:baz", "invalid reference format"),
    ("-foo", "invalid reference format"),
    ("foo/", "invalid reference format"),
    ("foo:" + "t" * 129, "invalid reference format"),
    ("a/" + "b" * 260, "invalid reference format: repository name must not be more than 255 characters"),
])
def test_invalid_references_give_docker_messages(text, message):
    with pytest.raises(InvalidReference) as err:
        reference.parse(text)
    assert str(err.value) == message


def test_digest_reference_gets_no_tag():
    ref = reference.parse("busybox@sha256:" + "b" * 64).with_default_tag()
    assert ref.tag is None and ref.digest == "sha256:" + "b" * 64


def test_domain_detection():
    assert reference.split_domain("foo/bar") == ("docker.io", "foo/bar")
    assert reference.split_domain("Foo/bar") == ("Foo", "bar")  # upper case means a host
    assert reference.split_domain("foo.com/bar") == ("foo.com", "bar")
    assert reference.split_domain("foo:5000/bar") == ("foo:5000", "bar")
