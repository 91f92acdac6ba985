"""The floor: the least a launcher can do for one secret. One botocore client, one GetSecretValue, exec.

python bench/baselines/floor.py SECRET-ID -- CMD [ARGS...]
"""

import json
import os
import sys
from typing import Any

import botocore.session

secret_id, command = sys.argv[1], sys.argv[3:]
client: Any = botocore.session.get_session().create_client("secretsmanager")
values = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
os.execvpe(command[0], command, {**os.environ, **values})
