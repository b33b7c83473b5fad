"""Running systems on instances: the call layer, judges, the run store and the runner."""
