"""The command line: the `trialkit` command and its subcommands."""
