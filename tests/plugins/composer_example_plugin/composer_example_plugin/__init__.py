"""An example composer plug-in: a benchmark, a scorer and a graph, found through entry points."""
