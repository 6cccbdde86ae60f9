"""``python -m trio_chatsse``: the same as the ``trio-chatsse`` command."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
