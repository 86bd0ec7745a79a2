"""Experiments, examples, report writers and test fixtures: used by the CLI's example and
eval commands, scripts/ and tests/, never by the Blender layer or the engine."""
