"""Settings, in small groups with documented defaults.

Each concern has its own frozen group (`settings.git.poll_interval`,
`settings.watching.reconnect_backoff`, ...), so a component receives only the group it
needs and a test builds that group alone. `Settings` collects the groups; the command
line and `FLEET_*` environment variables fill it in `fleet.runtime`.
"""
