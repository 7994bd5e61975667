"""Text sources: the corpus train/test split, document readers and the benchmark prompts."""
