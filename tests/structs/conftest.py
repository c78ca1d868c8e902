"""Value types need no fixtures; this file marks the folder as one feature."""
