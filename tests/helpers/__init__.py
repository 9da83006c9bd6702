"""What tests share.

- ``day``: the test day (``TEST_DAY``), Moscow time, and ``at()`` for moments on that day.
- ``devices``: a kiosk's device file and the kiosk fixtures (``clock``, ``printer``, ``device``,
  ``kiosk``, ``screens``); registered as a pytest plugin in ``tests/conftest.py``.
- ``hubprocess``: a real hub process on 127.0.0.1, a free port, a throwaway CA.
- ``bundles``: bundles signed in the test, a crafted hub, enrolled devices.
- ``signage``: screens configured in a folder, bundles installed as if synced, pictures and videos.
- ``window``: the window console's device file, a hand-moved clock for buttons, a hub with a window open.
- ``faultproxy``: a TCP proxy that misbehaves on command.
- ``browser``: the Chromium playwright starts; ``screenshots``: PNGs as screens upload them;
  ``sound``: WAV files measured by sox.

Fixtures are reached by name; plain functions and constants are imported from these modules.
"""
