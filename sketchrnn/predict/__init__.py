"""Predicting incomplete sketches: input files, calibration, classification, completion.

``inputs`` reads a user's file without torch; ``inference`` classifies packed sketch sets;
``calibration`` fits the calibration T (temperature scaling) and the out-of-distribution
threshold on the valid split; ``predictor`` ties them to one checkpoint; ``loading`` reads the data a checkpoint was trained
on (``sketchrnn.runs`` finds and loads the checkpoints).
"""
