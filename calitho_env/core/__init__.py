"""What `run` executes: settings, env files, secret requests, the one resolution, exec. Never imports botocore."""
