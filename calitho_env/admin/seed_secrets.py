"""The secrets Calitho Suite keeps in Secrets Manager: their default names, keys and mapping variables."""

from __future__ import annotations

from typing import NamedTuple


class SeedSecret(NamedTuple):
    default_name: str
    key: str
    mapping: str  # the AWS_SECRET_* variable that maps it
    description: str


SEED_SECRETS = (
    SeedSecret("calitho-suite/database", "DATABASE_URL", "AWS_SECRET_DATABASE", "Calitho Suite database connection"),
    SeedSecret("calitho-suite/nextauth", "NEXTAUTH_SECRET", "AWS_SECRET_NEXTAUTH", "Calitho Suite NextAuth JWT secret"),
    SeedSecret("calitho-suite/redis", "REDIS_URL", "AWS_SECRET_REDIS", "Calitho Suite Redis connection"),
)
