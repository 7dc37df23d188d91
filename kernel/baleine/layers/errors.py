"""The one exception the layers package raises for bad archives and bad trees."""


class LayerError(Exception):
    """A layer cannot be applied or produced; the message names the offending member."""
