"""A throwaway scale-out deployment on this machine: PostgreSQL + N app replicas + nginx.

    .venv/bin/python -m deploy.replicas [--replicas 2]   # from the repo root

What a lab runs on a real server, started the same way the tests and `bench_load.py` start
it: a PostgreSQL cluster in a temp dir (`deploy/pg_server.py`, run as the `postgres` user
when we are root), the schema migrated once before any replica starts (two replicas
migrating at the same moment would race), replicas of `python -m drumeval.serve` on free
ports sharing the database, the clip store (`DRUMEVAL_HOME`) and the cookie secret (so an
XSRF token issued by one replica is valid on another), and nginx from
`deploy/nginx.conf.template` on a free port with session affinity. nginx runs unprivileged
(`nobody` when we are root). `stop()` ends every process it started and deletes the
temp dir.
"""

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy.app_server import AppServer, free_port, wait_for_health
from deploy.pg_server import PostgresServer, PostgresUnavailableError, start_server
from drumeval.errors import DrumevalError

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
REPLICA_HEADER = "X-Drumeval-Replica"
ROUTE_COOKIE = "drumeval_route"
NGINX = "/usr/sbin/nginx"


class DeploymentError(DrumevalError):
    """A part of the replica deployment (nginx, PostgreSQL, a replica) is missing or failed."""


def nginx_config(prefix: Path, listen_port: int, replica_ports: list[int]) -> str:
    """The proxy config for these ports: the template with its placeholders filled."""
    servers = "\n        ".join(
        f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in replica_ports
    )
    return (
        TEMPLATE.read_text()
        .replace("{{PREFIX}}", str(prefix))
        .replace("{{LISTEN}}", f"127.0.0.1:{listen_port}")
        .replace("{{SERVERS}}", servers)
    )


@dataclass
class Deployment:
    """The running parts; `url` is what evaluators open (the proxy)."""

    directory: Path
    postgres: PostgresServer
    database_url: str
    replicas: list[AppServer]
    proxy_port: int
    proxy: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def replica_of(self, route: str) -> int:
        """Index of the replica that nginx sends the browser with this affinity cookie to."""
        request = urllib.request.Request(
            f"{self.url}/_stcore/health", headers={"Cookie": f"{ROUTE_COOKIE}={route}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            address = response.headers[REPLICA_HEADER].split(",")[-1].strip()
        ports = [replica.port for replica in self.replicas]
        return ports.index(int(address.rsplit(":", 1)[1]))

    def routes_per_replica(self) -> list[str]:
        """One affinity cookie value per replica (found by asking the proxy)."""
        found: dict[int, str] = {}
        for number in range(200):
            route = f"route-{number}"
            found.setdefault(self.replica_of(route), route)
            if len(found) == len(self.replicas):
                return [found[index] for index in range(len(self.replicas))]
        raise DeploymentError("the proxy sent 200 different cookies to fewer replicas than exist")

    def stop(self) -> None:
        if self.proxy and self.proxy.poll() is None:
            self.proxy.send_signal(signal.SIGQUIT)  # graceful: finish open responses
            try:
                self.proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait(timeout=10)
        for replica in self.replicas:
            replica.stop()
        self.postgres.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _start_proxy(deployment: Deployment, timeout_s: float = 30) -> subprocess.Popen:
    if not Path(NGINX).exists():
        raise DeploymentError("nginx not found: install the Debian package `nginx` (`make setup`)")
    prefix = deployment.directory / "nginx"
    prefix.mkdir()
    config = prefix / "nginx.conf"
    config.write_text(
        nginx_config(prefix, deployment.proxy_port, [r.port for r in deployment.replicas])
    )
    command = [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config)]
    as_nobody = os.geteuid() == 0  # never run the proxy as root
    if as_nobody:
        deployment.directory.chmod(0o711)  # nobody may pass through to its own folder
        shutil.chown(prefix, user="nobody")
    startup_log = prefix / "startup.log"  # what nginx says before its error_log is open
    with startup_log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=output,
            **({"user": "nobody", "group": "nogroup", "extra_groups": []} if as_nobody else {}),
        )
    if wait_for_health(deployment.url, process, timeout_s):
        return process
    if process.poll() is not None:
        errors = startup_log.read_text(errors="replace").strip()
        raise DeploymentError(f"nginx exited with code {process.returncode}: {errors}")
    process.kill()
    process.wait(timeout=10)
    raise DeploymentError(f"nginx did not answer within {timeout_s} s")


def start(replicas: int = 2) -> Deployment:
    """Start PostgreSQL (migrated), `replicas` app processes and the proxy; stop all on failure."""
    from db.engine import open_database

    try:
        postgres = start_server()
    except PostgresUnavailableError as error:
        raise DeploymentError(str(error)) from error
    directory = Path(tempfile.mkdtemp(prefix="drumeval-deploy-"))
    database_url = postgres.url()
    env = {
        "DATABASE_URL": database_url,
        "DRUMEVAL_HOME": str(directory / "home"),
        "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),
    }
    deployment = Deployment(
        directory=directory,
        postgres=postgres,
        database_url=database_url,
        replicas=[AppServer(env=env) for _ in range(replicas)],
        proxy_port=free_port(),
        env=env,
    )
    try:
        open_database(database_url).dispose()
        for replica in deployment.replicas:
            replica.start()
        deployment.proxy = _start_proxy(deployment)
    except RuntimeError as error:  # a replica that exits or does not answer (AppServer)
        deployment.stop()
        raise DeploymentError(f"a replica did not start: {error}") from error
    except BaseException:
        deployment.stop()
        raise
    return deployment


def _make_demo_study(deployment: Deployment) -> str:
    """The app's own demo study (`make run`'s), built in the deployment's clip store."""
    from db.engine import open_database
    from drumeval.study.demo import DEMO_SLUG, ensure_demo

    os.environ["DRUMEVAL_HOME"] = deployment.env["DRUMEVAL_HOME"]  # the shared clip store
    engine = open_database(deployment.database_url)
    try:
        print("Building the demo study's clips (a minute or two on 2 cores)…", flush=True)
        ensure_demo(engine)
    finally:
        engine.dispose()
    return DEMO_SLUG


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        deployment = start(args.replicas)
    except DrumevalError as error:
        sys.exit(f"error: {error}")
    try:
        try:
            slug = _make_demo_study(deployment)
        except DrumevalError as error:
            sys.exit(f"error: {error}")
        print(f"proxy:    {deployment.url}/study?s={slug}")
        for replica in deployment.replicas:
            print(f"replica:  {replica.url} (pid {replica.process.pid})")
        print(f"database: {deployment.database_url}\nCtrl-C stops and deletes everything.")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    finally:
        deployment.stop()


if __name__ == "__main__":
    main()
