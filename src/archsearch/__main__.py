"""``python -m archsearch ...``: the same command line as the ``archsearch`` script."""

from archsearch.cli.main import main

raise SystemExit(main())
