"""Layer tar streams: compression, safe extraction onto a root, and diffs."""
