"""`python -m fvdm COMMAND ...`: see `fvdm.cli`."""

from fvdm.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
