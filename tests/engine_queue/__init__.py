"""The work queue, its rate limiters, the workers and the clock, all on a fake clock."""
