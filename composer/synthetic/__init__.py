"""The offline world in one wing: the synthetic suite, the symbolic models and the demo.

- `suite/`: generators of a RealUnify-format suite, one per category (`composer synth`, the
  `synthetic` benchmark).
- `symbolic/`: the `symbolic/...` specialists, which solve that suite from pixels and text.
- `vocab`: what both share, colours (one palette), shapes, scene wording and GEU conventions;
  the solvers never import the generators, nor the generators the solvers.
- `demo`: the run `composer demo` makes.

It sits beside the layers: it uses core, benchmarks (the protocol), specialists (the
protocols) and agents (their prompts); only the CLI imports it, and the provider and benchmark
registries name it lazily.
"""
