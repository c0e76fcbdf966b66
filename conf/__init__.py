"""Packaged Hydra configuration (composed by the posekit CLIs)."""
