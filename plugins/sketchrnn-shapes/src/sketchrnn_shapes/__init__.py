"""sketchrnn-shapes: a worked example of a sketchrnn plugin (see plugins/README.md).

It registers one entry in each group, through this distribution's entry points:

* ``sketchrnn.categories``  ``shapes``              procedural hand-drawn shapes (``source.py``)
* ``sketchrnn.models``      ``hyper_sketch_rnn``    Sketch-RNN with a HyperLSTM decoder (``model.py``)
* ``sketchrnn.losses``      ``sketch_rnn_cyclical`` cyclical KL annealing (``loss.py``)

Importing the package imports nothing heavy: sketchrnn loads each module when it is first used.
"""

__version__ = "0.1.0"
