"""An example composer plug-in: a benchmark, a scorer, a graph and a provider, by entry point."""
