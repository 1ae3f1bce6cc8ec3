"""Ceilings on one request, shared by every front end (the command line, the demo app), so that a
video or a seed that one of them accepts the others accept too."""

MAX_LONG_FRAMES = 512  # new frames of one long video; each window beyond the first costs a full sampling run
MAX_SEED = 2**31 - 1  # seeds run from 0 to this, the range every front end accepts
