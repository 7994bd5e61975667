"""A local stand-in for the Hugging Face Hub: enough of its HTTP protocol for huggingface_hub
(2.4, pointed at it with HF_ENDPOINT) to download files and model snapshots at pinned commits.

Served (read from huggingface_hub's file_download.py, _snapshot_download.py and hf_api.py):

- ``HEAD``/``GET /{datasets/}{org}/{name}/resolve/{revision}/{path}``: the file, with
  ``X-Repo-Commit``, ``ETag`` (the sha256 of the file as published, like an LFS file's),
  ``Content-Length``, and ``Range: bytes=N-`` for resumed downloads (206);
- ``GET /api/{models|datasets}/{org}/{name}/revision/{revision}``: ``sha`` and ``siblings``;
- ``GET /api/{models|datasets}/{org}/{name}/tree/{revision}``: the file listing;
- errors as the Hub sends them: 404 with ``X-Error-Code`` ``RepoNotFound``,
  ``RevisionNotFound`` or ``EntryNotFound``.

A revision is a commit (40 hex) or a branch name that points at one. ``corrupt(...)`` makes
the server send other bytes of the same length for one file, under the published ETag, as a
broken mirror or a bad disk would.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.branches.get(revision)


class LocalHub:
    """Start with ``with LocalHub() as hub:``; ``hub.endpoint`` is the HF_ENDPOINT to use."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.corrupted: set[tuple[str, str, str]] = set()
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    # --- content --------------------------------------------------------------------------

    def add(
        self, repo_type: str, repo_id: str, commit: str, files: dict[str, bytes], branch: str = ""
    ) -> None:
        """Publish ``files`` as ``repo_id`` at ``commit`` (and ``branch``, if given)."""
        assert len(commit) == 40 and int(commit, 16) >= 0, commit
        repo = self.repos.setdefault((repo_type, repo_id), Repo())
        repo.commits[commit] = dict(files)
        if branch:
            repo.branches[branch] = commit

    def corrupt(self, repo_type: str, repo_id: str, path: str) -> None:
        """From now on serve ``path`` with every byte flipped (same length, same ETag)."""
        self.corrupted.add((repo_type, repo_id, path))

    # --- server ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start the hub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalHub:
        hub = self

        class Handler(_Handler):
            owner = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Handler(BaseHTTPRequestHandler):
    owner: LocalHub

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(body=True)

    def _error(self, code: str, commit: str | None = None, body: bool = True) -> None:
        payload = json.dumps({"error": code}).encode()
        self.send_response(404)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def _json(self, doc: object) -> None:
        payload = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _serve(self, body: bool) -> None:
        hub = self.owner
        path = urlsplit(self.path).path
        hub.requests.append(f"{self.command} {path}")
        parts = [unquote(p) for p in path.strip("/").split("/")]
        api = parts[:1] == ["api"]
        if api:
            parts = parts[1:]
            repo_type = {"models": "model", "datasets": "dataset"}.get(parts[0])
            parts = parts[1:]
        else:
            repo_type = "dataset" if parts[:1] == ["datasets"] else "model"
            parts = parts[1:] if repo_type == "dataset" else parts
        if repo_type is None or len(parts) < 4:
            return self._error("RepoNotFound", body=body)
        repo_id, verb, revision, rest = "/".join(parts[:2]), parts[2], parts[3], parts[4:]
        repo = hub.repos.get((repo_type, repo_id))
        if repo is None:
            return self._error("RepoNotFound", body=body)
        commit = repo.resolve(revision)
        if commit is None:
            return self._error("RevisionNotFound", body=body)
        files = repo.commits[commit]
        if api and verb == "revision":
            siblings = [{"rfilename": name} for name in sorted(files)]
            return self._json({"id": repo_id, "sha": commit, "siblings": siblings})
        if api and verb == "tree":
            return self._json(
                [
                    {"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                    for n, d in sorted(files.items())
                ]
            )
        name = "/".join(rest)
        if verb != "resolve" or name not in files:
            return self._error("EntryNotFound", commit, body=body)
        data = files[name]
        etag = hashlib.sha256(data).hexdigest()
        if (repo_type, repo_id, name) in hub.corrupted:
            data = bytes(b ^ 0xFF for b in data)
        start = 0
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and ranged[6:].split("-")[0].isdigit():
            start = min(int(ranged[6:].split("-")[0]), len(data))
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", commit)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.wfile.write(data[start:])
