"""Inference: networks from checkpoints (or shipped weights), tiled restoration of images of any size, and
photos read and written in their own bit depth."""
