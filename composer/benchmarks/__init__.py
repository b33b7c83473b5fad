"""Instance loaders: RealUnify folders, the built-in synthetic suite, JSONL."""
