"""Training package: the synthetic video world, its physics score and the training loop."""
