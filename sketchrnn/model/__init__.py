"""The Sketch-RNN model family: encoder, decoder, mixture head, classifier."""
