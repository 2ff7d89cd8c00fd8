"""Training: losses, optimizers, the loop, the run folder, gradient checks and the public test kit.

``testing`` (hypothesis strategies and a ready-made gradient test for your own layers) is not
imported here: it needs hypothesis, a test dependency.
"""
