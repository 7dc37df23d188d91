"""Sources and sinks of images as files: tarball import, docker/OCI archives (load, save)."""
