"""`python -m training.evaluate ...`: see `training.evaluate.cli`."""

from training.evaluate.cli import main

if __name__ == "__main__":
    main()
