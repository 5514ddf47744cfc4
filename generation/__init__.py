"""What generate.py does, as a library: run a generator (`generator`), write images and grids
(`images`), the StyleGAN paper figures (`figures`) and MP4 videos (`video`).

The modules raise `utils.cli.UsageError` for bad input and for a command that cannot complete
with it (no imageio-ffmpeg, frames of different sizes); generate.py turns it into its one-line
message and exit status 2.
"""
