"""The benchmarks' own parts, and the fleet-scale benchmarks, which span every feature (a
feature's own benchmark is tested in that feature's folder)."""
