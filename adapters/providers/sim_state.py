"""Where the simulator keeps its "remote" state: in this process, or in a directory.

A real provider is one service every worker talks to. The in-memory store (the default)
is that service for one process. `DirectorySimState` is that service for several processes
on one machine: each fact is one small file, created whole or not at all (written to a
temporary file, then hard-linked into place, which fails when the name exists), so the
first writer of a fact wins and no reader sees half a file.

Layout under the root:
    jobs/<job id>.json                 one remote job (JSON)
    references/<reference>             the job id a reference was submitted as
    cancelled/<job id>                 empty marker: the job was cancelled
    transient-spent/<fingerprint>      empty marker: this job's failing first attempt is used up
    first-secret/<fingerprint>         sha256 of the first account key the job met
    submits/<reference>/<n>            one file per submit received for that reference (n = 0, 1, ...)
    submits/<reference>/reference      the reference itself (names may be hashed, see below)
Names that are not plain (`[A-Za-z0-9_-]`, up to 100 characters) are replaced by their
sha256, so nothing a caller sends can escape the root.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from domain.jobs import OperationType
from domain.providers import ProviderFailure


class SimJobRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One remote job as the simulator stores it."""

    id: str
    reference: str
    operation_type: OperationType
    params: dict[str, Any]
    input_keys: tuple[str, ...]
    submitted_at: datetime
    failure: ProviderFailure | None = None
    cancelled: bool = False
    model: str | None = None  # the model it was asked to run (any name: the simulator renders alike)


class SimState(Protocol):
    def add_job(self, job: SimJobRecord) -> str:
        """Store `job` under its reference unless the reference already has a job; the id
        of the job the reference names afterwards."""

    def job(self, job_id: str) -> SimJobRecord | None: ...
    def job_for(self, reference: str) -> str | None: ...
    def cancel(self, job_id: str) -> None: ...

    def spend_transient(self, fingerprint: str) -> bool:
        """True the first time only: that attempt is the one that fails."""

    def is_first_secret(self, fingerprint: str, secret: str) -> bool:
        """Remember the first secret a job met (first caller wins); whether `secret` is it."""

    def record_submit(self, reference: str) -> None: ...

    def submits(self) -> Counter[str]:
        """Submits received so far, per reference."""

    def record_duplicate(self, reference: str) -> None:
        """A reference that already had a remote job was submitted again."""

    def duplicates(self) -> set[str]: ...


class InMemorySimState:
    def __init__(self) -> None:
        self._jobs: dict[str, SimJobRecord] = {}
        self._by_reference: dict[str, str] = {}
        self._transient_spent: set[str] = set()
        self._first_secret: dict[str, str] = {}
        self._submits: Counter[str] = Counter()
        self._duplicates: set[str] = set()

    def add_job(self, job: SimJobRecord) -> str:
        existing = self._by_reference.setdefault(job.reference, job.id)
        if existing == job.id:
            self._jobs.setdefault(job.id, job)
        return existing

    def job(self, job_id: str) -> SimJobRecord | None:
        return self._jobs.get(job_id)

    def job_for(self, reference: str) -> str | None:
        return self._by_reference.get(reference)

    def cancel(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            self._jobs[job_id] = msgspec.structs.replace(job, cancelled=True)

    def spend_transient(self, fingerprint: str) -> bool:
        if fingerprint in self._transient_spent:
            return False
        self._transient_spent.add(fingerprint)
        return True

    def is_first_secret(self, fingerprint: str, secret: str) -> bool:
        return self._first_secret.setdefault(fingerprint, secret) == secret

    def record_submit(self, reference: str) -> None:
        self._submits[reference] += 1

    def submits(self) -> Counter[str]:
        return Counter(self._submits)

    def record_duplicate(self, reference: str) -> None:
        self._duplicates.add(reference)

    def duplicates(self) -> set[str]:
        return set(self._duplicates)


_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,100}")
_REFERENCE_FILE = "reference"


def _name(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else "sha256-" + hashlib.sha256(text.encode()).hexdigest()


class DirectorySimState:
    """The sim's state in a directory several processes share (see the module docstring)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        for folder in ("jobs", "references", "cancelled", "transient-spent", "first-secret", "submits", "tmp"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def add_job(self, job: SimJobRecord) -> str:
        reference = self.root / "references" / _name(job.reference)
        if (existing := self._read(reference)) is not None:
            return existing
        # The job file first: whoever finds the reference can then always read the job.
        path = self.root / "jobs" / f"{_name(job.id)}.json"
        created = self._create(path, msgspec.json.encode(job))
        if self._create(reference, job.id.encode()):
            return job.id
        winner = self._read(reference) or job.id  # another process stored this reference meanwhile
        if created and winner != job.id:
            path.unlink(missing_ok=True)
        return winner

    def job(self, job_id: str) -> SimJobRecord | None:
        data = self._read_bytes(self.root / "jobs" / f"{_name(job_id)}.json")
        if data is None:
            return None
        record = msgspec.json.decode(data, type=SimJobRecord)
        if (self.root / "cancelled" / _name(job_id)).exists():
            record = msgspec.structs.replace(record, cancelled=True)
        return record

    def job_for(self, reference: str) -> str | None:
        return self._read(self.root / "references" / _name(reference))

    def cancel(self, job_id: str) -> None:
        self._mark(self.root / "cancelled" / _name(job_id))

    def spend_transient(self, fingerprint: str) -> bool:
        return self._mark(self.root / "transient-spent" / _name(fingerprint))

    def is_first_secret(self, fingerprint: str, secret: str) -> bool:
        # Only a hash of the key reaches the disk.
        digest = hashlib.sha256(secret.encode()).hexdigest()
        path = self.root / "first-secret" / _name(fingerprint)
        self._create(path, digest.encode())
        return self._read(path) == digest

    def record_submit(self, reference: str) -> None:
        folder = self.root / "submits" / _name(reference)
        folder.mkdir(exist_ok=True)
        self._create(folder / _REFERENCE_FILE, reference.encode())
        n = 0
        while not self._mark(folder / str(n)):
            n += 1

    def submits(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for folder in (self.root / "submits").iterdir():
            names = [entry.name for entry in folder.iterdir() if entry.name != _REFERENCE_FILE]
            counts[self._read(folder / _REFERENCE_FILE) or folder.name] += len(names)
        return counts

    def record_duplicate(self, reference: str) -> None:
        folder = self.root / "duplicates"
        folder.mkdir(exist_ok=True)
        self._create(folder / _name(reference), reference.encode())

    def duplicates(self) -> set[str]:
        folder = self.root / "duplicates"
        if not folder.is_dir():
            return set()
        return {self._read(entry) or entry.name for entry in folder.iterdir()}

    # ------------------------------------------------------------------ files

    def _create(self, path: Path, data: bytes) -> bool:
        """Create `path` holding `data`, whole, unless it exists; whether this call made it."""
        temporary = self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"
        temporary.write_bytes(data)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        finally:
            temporary.unlink()
        return True

    @staticmethod
    def _mark(path: Path) -> bool:
        """Create an empty marker unless it exists; whether this call made it."""
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        return True

    @staticmethod
    def _read_bytes(path: Path) -> bytes | None:
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        return None

    def _read(self, path: Path) -> str | None:
        data = self._read_bytes(path)
        return None if data is None else data.decode()
