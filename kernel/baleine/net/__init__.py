"""Container networking below the engine: the sandbox network namespace (bridges, veths,
outbound through slirp4netns) and the per-container supervisor (namespace, published ports)."""
