"""A naive launcher, as one would first write it: boto3, every AWS_SECRET_* fetched in turn, exec.

python bench/baselines/naive_boto3.py -- CMD [ARGS...]
"""

import json
import os
import sys

import boto3

client = boto3.client("secretsmanager")
environment = dict(os.environ)
for name, secret_id in sorted(os.environ.items()):
    if name.startswith("AWS_SECRET_") and name != "AWS_SECRET_ACCESS_KEY":
        environment.update(json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"]))
command = sys.argv[2:]
os.execvpe(command[0], command, environment)
