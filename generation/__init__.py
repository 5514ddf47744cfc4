"""What generate.py does, as a library: run a generator (`generator`), write images and grids
(`images`), the StyleGAN paper figures (`figures`) and MP4 videos (`video`).

The modules raise `errors.UsageError` for bad input and `errors.CommandError` when a command
cannot complete; generate.py turns them into its one-line messages and exit statuses.
"""
