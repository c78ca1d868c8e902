"""Planning is pure, so its tests need no server or loop: fixture repositories on disk
(`fixtures/repos/`), tables of cases (`fixtures/*.yaml`), and the helpers in `repos.py`.
"""
