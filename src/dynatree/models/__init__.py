"""Model loading, Hub download and the offline embedded model pair."""
