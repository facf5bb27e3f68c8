"""The ``archsearch`` command line: one module per subcommand."""
