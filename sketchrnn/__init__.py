"""sketchrnn: Sketch-RNN (Ha & Eck 2017) on QuickDraw, from a laptop to a Ray cluster.

Importing the package has no side effects: no plugin loading, no torch, no ray.
"""

__version__ = "0.1.0"
