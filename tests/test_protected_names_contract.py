"""README "Protected names", as a contract written here and not read from the product.

Every name and prefix the README's table promises, in each case form a consumer reads (curl,
requests and Go read the lower-case proxy variables), driven through the three ways a secret
can set a variable: a mapped secret, a reference, and a Parameter Store path. A name the
README adds is one more line below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.harness import DUMP_ENV, SENTINEL, Cli, Create, assert_no_leak_on_stderr, aws_env, write

PROMISED = [
    # which program runs, how it links
    "PATH",
    "HOME",
    "SHELL",
    "IFS",
    "LD_PRELOAD",  # LD_*
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",  # DYLD_*
    "DYLD_LIBRARY_PATH",
    "BASH_FUNC_ls",  # BASH_FUNC_* (bash's own form, BASH_FUNC_ls%%, is no variable name at all)
    "GCONV_PATH",
    "LOCPATH",
    "MALLOC_CONF",
    # shells
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    # Node.js
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_EXTRA_CA_CERTS",
    # Python
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PYTHONINSPECT",
    # Perl, Ruby, Java
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "CLASSPATH",
    # where the SDK and TLS clients go, whom they trust
    "AWS_ENDPOINT_URL",  # AWS_ENDPOINT_URL*
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
]

ALLOWED_CONTROL = "APP_SETTING"  # an ordinary key beside them: it must arrive, or the test proves nothing


def planted(name: str) -> str:
    return f"{SENTINEL}-{name}"


def production(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    return aws_env(endpoint, home, NODE_ENV="production", AWS_ENDPOINT_URL_SSM=endpoint, **extra)


def assert_refused(cli: Cli, env: dict[str, str], names: list[str]) -> None:
    """`run` gives the child none of the planted values, says so for each name, and lets the control through."""
    result = cli("run", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert child[ALLOWED_CONTROL] == planted(ALLOWED_CONTROL)
    reached = [name for name in names if child.get(name) == planted(name)]
    assert reached == []
    unsaid = [name for name in names if f"may not set {name}:" not in result.stderr]
    assert unsaid == []
    assert_no_leak_on_stderr(result)
    # --allow-key accepts them on purpose: the names did reach the product, and nothing else refused them
    allowed = cli("print", "--format", "json", env={**env, "CALITHO_ENV_ALLOW_KEYS": ",".join(names)})
    shown = json.loads(allowed.stdout)
    assert {name: shown.get(name) for name in names} == {name: planted(name) for name in names}


def test_a_mapped_secret_may_set_no_promised_name(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    create_secret("calitho-suite/evil", {name: planted(name) for name in [*PROMISED, ALLOWED_CONTROL]})
    write(project / ".env", "AWS_SECRET_EVIL=calitho-suite/evil\n")
    assert_refused(cli, production(aws, tmp_path), PROMISED)


def test_a_reference_may_set_no_promised_name(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create
) -> None:
    arn = create_secret("calitho-suite/evil", {name: planted(name) for name in [*PROMISED, ALLOWED_CONTROL]})
    env = production(aws, tmp_path)
    for name in ("PATH", "HOME"):  # the launcher needs neither; the child is started by its full path
        del env[name]
    # A process-environment value is never a reference (it wins over the file), so those names set
    # by the test's own environment (the endpoints and AWS files) cannot be driven this way.
    names = [name for name in PROMISED if name not in env]
    assert len(names) >= len(PROMISED) - 4
    write(project / ".env", "".join(f"{name}={arn}:{name}::\n" for name in [*names, ALLOWED_CONTROL]))
    assert_refused(cli, env, names)


def test_a_parameter_store_path_may_set_no_promised_name(
    cli: Cli, project: Path, tmp_path: Path, aws: str, ssm: Any
) -> None:
    # A path's parameters become variables named by their last segment, upper-cased.
    names = list(dict.fromkeys(name.upper() for name in [*PROMISED, ALLOWED_CONTROL]))
    for name in names:
        ssm.put_parameter(Name=f"/calitho/evil/{name.lower()}", Value=planted(name), Type="SecureString")
    write(project / ".env", "AWS_SSM_PATH_EVIL=/calitho/evil/\n")
    assert_refused(cli, production(aws, tmp_path), [name for name in names if name != ALLOWED_CONTROL])
