"""A worker that knows nothing of calitho-env: it reads plain environment variables.

calitho-env run -- python examples/worker.py
"""

import os

for name in ("DATABASE_URL", "NEXTAUTH_SECRET", "REDIS_URL"):
    print(f"  python worker sees {name}={os.environ.get(name, '<unset>')}")
