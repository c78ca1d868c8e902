"""The command line is tested in-process through `fleet.cli.main`."""
