"""Training the demo checkpoints in MLX, with the same model classes that run inference."""
