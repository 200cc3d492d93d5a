"""`python -m engine` is the same as the `ddengine` command."""

from engine.cli import main

raise SystemExit(main())
