"""`python -m fleet` is the `fleet` command."""

from fleet import cli

raise SystemExit(cli.main())
