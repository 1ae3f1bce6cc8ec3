"""Counts in the command line's sentences: "1 frame", "2 frames"."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, with an "s" unless there is exactly one: "1 frame", "0 frames", "8 steps"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
