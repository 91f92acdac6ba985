"""One module per command; each is a thin click layer over the core."""
