"""The operator tools behind check, setup, rotate and iam-policy. `run` never imports them."""
