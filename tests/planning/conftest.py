"""Planning is pure, so its tests need no server or loop: fixture repositories on disk
(`fixtures/repos/`), tables of cases (`fixtures/*.yaml`), objects recorded from fleet.sim
and kubectl for diffing (`fixtures/diffing/`, made by `recording.py`), and the helpers in
`repos.py`.
"""
