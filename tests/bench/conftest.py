"""The benchmark harness itself; each benchmark's quick run is tested in its feature folder."""
