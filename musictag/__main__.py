"""Allow ``python -m musictag``."""

from musictag.cli import main

main()
