"""A secret cannot take over the child (docs/safety.md, Protected names), through the real CLI.

The names are listed here, independently of the product's list: every one is driven through a
mapped secret, a secret reference and a Parameter Store path. Where a payload exists (a Python
child, `npm start` -> node, a git child), it is planted for real and must not run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    DUMP_ENV,
    SENTINEL,
    Cli,
    Create,
    assert_no_leak_on_stderr,
    production_env,
    write,
)

# The names, then the rest of the class, each as a secret would spell it.
PROTECTED = [
    # Python: PYTHONWARNINGS imports a module named in it; BROWSER is what that module launches
    "PYTHONWARNINGS", "BROWSER", "PYTHONBREAKPOINT", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH",
    "PYTHONHTTPSVERIFY",
    # npm reads npm_config_* in any case; yarn YARN_*, pnpm pnpm_config_*
    "npm_config_node_options", "NPM_CONFIG_NODE_OPTIONS", "Npm_Config_Registry", "npm_config_script_shell",
    "YARN_RC_FILENAME", "yarn_npm_registry_server", "pnpm_config_registry", "COREPACK_NPM_REGISTRY", "PNPM_HOME",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "POETRY_REPOSITORIES_X_URL",
    # git: config through the environment, and every program git starts
    "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_GLOBAL",
    "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_ASKPASS", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR",
    "GIT_TEMPLATE_DIR", "GIT_PROXY_COMMAND", "GIT_SSL_NO_VERIFY", "GIT_DIR",
    # proxies, in the cases Python's urllib and curl accept
    "HTTP_PROXY", "http_proxy", "hTTP_PROXY", "Https_Proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "No_Proxy",
    "FTP_PROXY",
    # the AWS credential chain and endpoints
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
    # the dynamic loader and libc
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "LOCPATH", "GLIBC_TUNABLES", "MALLOC_CONF",
    "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "NLSPATH", "TMPDIR",
    # OpenSSL and TLS, and TLS key logging
    "SSL_CERT_FILE", "SSL_CERT_DIR", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "SSLKEYLOGFILE",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED",
    # interpreters
    "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "PERL5OPT", "PERL5LIB", "PERL5DB", "RUBYOPT",
    "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "DOTNET_STARTUP_HOOKS",
    "PHPRC", "GOFLAGS", "RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER",
    # shells
    "BASH_ENV", "ENV", "PS4", "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "IFS", "CDPATH", "ZDOTDIR",
    "BASH_FUNC_ls",
    # what tools launch, and where they read their configuration
    "EDITOR", "VISUAL", "PAGER", "MANPAGER", "SYSTEMD_PAGER", "LESSOPEN", "LESSCLOSE", "SSH_ASKPASS",
    "XDG_CONFIG_HOME", "CURL_HOME", "NETRC", "PATH", "HOME",
    # Next.js's own loader, and calitho-env's own settings
    "__NEXT_PROCESSED_ENV", "CALITHO_ENV_ALLOW_KEYS",
]  # fmt: skip

# What a secret may still set: the app's values, static keys of another account, the app's NODE_ENV.
ALLOWED = ["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "NODE_ENV",
           "HTTP_PROXY_URL", "GITHUB_TOKEN", "NPM_TOKEN"]  # fmt: skip

PARTIAL_ARN = "arn:aws:secretsmanager:us-west-1:123456789012:secret:"


def planted(name: str) -> str:
    return f"{SENTINEL}-{name}"


def plant(channel: str, values: dict[str, str], project: Path, create_secret: Create, ssm: Any) -> None:
    """Make the secret, the references or the parameters that would set `values`."""
    if channel == "mapping":
        create_secret("calitho-suite/evil", values)
        write(project / ".env", "AWS_SECRET_EVIL=calitho-suite/evil\n")
    elif channel == "reference":
        arn = create_secret("calitho-suite/evil", values)
        write(project / ".env", "".join(f"{name}={arn}:{name}\n" for name in values))
    else:
        for name, value in values.items():
            ssm.put_parameter(Name=f"/evil/{name.lower()}", Value=value, Type="SecureString")
        write(project / ".env", "AWS_SSM_PATH_EVIL=/evil/\n")


def as_set(channel: str, name: str) -> str:
    """The variable a channel makes of `name`: a parameter path upper-cases the last segment."""
    return name.upper() if channel == "parameter path" else name


CHANNELS = ["mapping", "reference", "parameter path"]


def names_for(channel: str, environ: dict[str, str]) -> list[str]:
    if channel == "reference":  # the process environment wins over the env file's reference; _ARN: the app's
        return [name for name in PROTECTED if not name.endswith("_ARN") and name not in environ]
    if channel == "parameter path":  # one parameter a variable
        return list({name.upper(): name for name in PROTECTED}.values())
    return PROTECTED


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_protected_name_reaches_the_child_and_each_is_named_in_a_warning(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, ssm: Any, channel: str
) -> None:
    env = production_env(aws, tmp_path)
    names = names_for(channel, env)
    allowed = [name for name in ALLOWED if channel != "reference" or name not in env]
    plant(channel, {name: planted(name) for name in [*names, *allowed]}, project, create_secret, ssm)
    result = cli("run", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    reached = [name for name in names if child.get(as_set(channel, name), "").startswith(SENTINEL)]
    assert reached == []
    unwarned = [name for name in names if f"may not set {as_set(channel, name)}:" not in result.stderr]
    assert unwarned == []
    assert [child.get(as_set(channel, name)) for name in allowed] == [planted(name) for name in allowed]
    assert_no_leak_on_stderr(result)


@pytest.mark.parametrize("channel", CHANNELS)
def test_allow_key_still_lets_a_protected_name_through_on_purpose(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, ssm: Any, channel: str
) -> None:
    plant(channel, {"PYTHONWARNINGS": "ignore", "GIT_PAGER": "cat"}, project, create_secret, ssm)
    env = production_env(aws, tmp_path, CALITHO_ENV_ALLOW_KEYS="GIT_PAGER")
    result = cli("run", "--allow-key", "PYTHONWARNINGS", "--", *DUMP_ENV, env=env)
    child = result.child_env()
    assert (child["PYTHONWARNINGS"], child["GIT_PAGER"]) == ("ignore", "cat")
    assert "may not set" not in result.stderr


# --- Live payloads: each would run a command in the child; none may -------------------------


def marker_script(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that leaves a file behind when it runs: the attacker's command."""
    marker = tmp_path / "ran"
    script = tmp_path / "payload.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    return script, marker


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_python_child_does_not_run_the_browser_pythonwarnings_would_open(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, ssm: Any, channel: str
) -> None:
    script, marker = marker_script(tmp_path)
    payload = {"PYTHONWARNINGS": "all:0:antigravity.x:0:0", "BROWSER": str(script)}
    plant(channel, payload, project, create_secret, ssm)
    result = cli("run", "--", sys.executable, "-c", "print('started')", env=production_env(aws, tmp_path))
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "may not set PYTHONWARNINGS" in result.stderr
    assert "may not set BROWSER" in result.stderr


def test_the_python_payload_is_real(tmp_path: Path) -> None:
    """Without calitho-env in between, the same two variables do run the command."""
    script, marker = marker_script(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "all:0:antigravity.x:0:0", "BROWSER": str(script)}
    subprocess.run([sys.executable, "-c", "pass"], env=env, capture_output=True, timeout=30, check=False)
    assert marker.exists()


@pytest.mark.parametrize(
    ("channel", "name"),
    [("mapping", "npm_config_node_options"), ("mapping", "NPM_CONFIG_NODE_OPTIONS"),
     ("reference", "npm_config_node_options"), ("parameter path", "npm_config_node_options")],
)  # fmt: skip
def test_npm_start_does_not_hand_node_options_from_a_secret_to_node(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, ssm: Any, channel: str, name: str
) -> None:
    marker = tmp_path / "ran"
    payload = tmp_path / "payload.js"
    payload.write_text(f"require('fs').writeFileSync({json.dumps(str(marker))}, 'x')\n")
    write(project / "package.json", json.dumps({"name": "app", "scripts": {"start": "node -e \"console.log('up')\""}}))
    plant(channel, {name: f"--require={payload}"}, project, create_secret, ssm)
    result = cli("run", "--", "npm", "start", "--silent", env=production_env(aws, tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "up"
    assert not marker.exists()
    assert f"may not set {as_set(channel, name)}:" in result.stderr


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_git_child_does_not_run_an_fsmonitor_a_secret_configures(
    cli: Cli, project: Path, tmp_path: Path, aws: str, create_secret: Create, ssm: Any, channel: str
) -> None:
    script, marker = marker_script(tmp_path)
    git_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q", str(project)], check=True, env=git_env)
    payload = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": str(script)}
    plant(channel, payload, project, create_secret, ssm)
    result = cli("run", "--", "git", "status", "--short", env=production_env(aws, tmp_path))
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert all(f"may not set {name}:" in result.stderr for name in payload)
