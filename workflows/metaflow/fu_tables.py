"""Tables between the steps of FuTrainFlow, as files: in a local folder or under s3://.

A table is put under ROOT/FLOW/RUN/STEP/TASK/NAME and its URL kept as an artifact, so a
task cloned by `resume` still points at the file its origin run wrote. The fu tools are
found by FU_BIN_DIR, then PATH, then the repository's .build/release.
"""

import os
import shutil
import subprocess
import sys
import time

from metaflow import S3, current


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tool(name):
    """The path of an fu tool: $FU_BIN_DIR/name, else PATH, else .build/release."""
    bin_dir = os.environ.get("FU_BIN_DIR")
    if bin_dir and os.access(os.path.join(bin_dir, name), os.X_OK):
        return os.path.join(bin_dir, name)
    found = shutil.which(name)
    if found:
        return found
    built = os.path.join(repo_root(), ".build", "release", name)
    if os.access(built, os.X_OK):
        return built
    raise RuntimeError(
        "%s not found: set FU_BIN_DIR, put it on PATH, or build with 'bash scripts/setup.sh'" % name
    )


def run(name, *args):
    """Runs an fu tool; its stderr goes to the task's log. Raises when it fails."""
    command = [tool(name)] + [str(a) for a in args]
    print("$ " + " ".join(command), flush=True)
    started = time.monotonic()
    result = subprocess.run(command, stdout=sys.stdout, stderr=sys.stderr)
    if result.returncode != 0:
        raise RuntimeError("%s exited with status %d" % (name, result.returncode))
    # bench/metaflow.sh reads these lines: the task's time outside them is Metaflow's.
    print("fu-seconds %s %.3f" % (name, time.monotonic() - started), flush=True)


def is_s3(url):
    return url.startswith("s3://")


class Tables:
    """Puts local files under the run's table root and gets them back by URL."""

    def __init__(self, root, workdir):
        self.root = root.rstrip("/")
        self.workdir = workdir

    def _key(self, name):
        return "/".join([current.flow_name, str(current.run_id), current.step_name, str(current.task_id), name])

    def put(self, path, name=None):
        """Stores the local file PATH as NAME (its base name by default); returns its URL."""
        key = self._key(name or os.path.basename(path))
        if is_s3(self.root):
            with S3(s3root=self.root, tmproot=self.workdir) as s3:
                return s3.put_files([(key, path)])[0][1]
        target = os.path.join(self.root, key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Written beside the target and renamed: a retried task never leaves half a file.
        temporary = target + ".tmp-%d" % os.getpid()
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
        return target

    def get(self, url, name=None):
        """Brings the table at URL (s3:// or a local path) into the work folder; returns its path."""
        path = os.path.join(self.workdir, name or os.path.basename(url))
        if is_s3(url):
            with S3(tmproot=self.workdir) as s3:
                shutil.move(s3.get(url).path, path)
        elif os.path.abspath(url) != os.path.abspath(path):
            if not os.path.isfile(url):
                raise RuntimeError("no table '%s' (on a cluster, give s3:// URLs)" % url)
            return url  # a local file is read where it is
        return path

    def get_many(self, urls):
        """get() of several tables at once (S3 downloads in parallel); their paths, in order."""
        remote = [u for u in urls if is_s3(u)]
        local = {}
        if remote:
            with S3(tmproot=self.workdir) as s3:
                for i, obj in enumerate(s3.get_many(remote)):
                    # Numbered: two prefixes may hold files of the same name.
                    local[obj.url] = os.path.join(self.workdir, "%d-%s" % (i, os.path.basename(obj.url)))
                    shutil.move(obj.path, local[obj.url])
        return [local[u] if is_s3(u) else self.get(u) for u in urls]


def expand_events(spec):
    """The event files named by SPEC: comma-separated files, folders (their regular files,
    sorted by name) or s3:// URLs (a URL ending in / is a prefix: every object under it)."""
    files = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        if is_s3(item):
            if item.endswith("/"):
                with S3() as s3:
                    files += sorted(o.url for o in s3.list_recursive([item]) if o.exists)
            else:
                files.append(item)
        elif os.path.isdir(item):
            files += sorted(
                os.path.join(os.path.abspath(item), f)
                for f in os.listdir(item)
                if os.path.isfile(os.path.join(item, f)) and not f.startswith(".")
            )
        elif os.path.isfile(item):
            files.append(os.path.abspath(item))
        else:
            raise ValueError("no events file '%s' (on a cluster, give s3:// URLs)" % item)
    if not files:
        raise ValueError("--events names no file")
    return files


def default_root():
    """Where tables go unless --tables-root says: under the S3 datatools root when the
    datastore is S3 (as on Kubernetes or AWS Batch), else in the local .metaflow folder."""
    from metaflow.metaflow_config import DATATOOLS_S3ROOT, DEFAULT_DATASTORE
    from metaflow.plugins.datastores.local_storage import LocalStorage

    if DEFAULT_DATASTORE == "s3":
        if not DATATOOLS_S3ROOT:
            raise ValueError("the datastore is S3 but METAFLOW_DATASTORE_SYSROOT_S3 is not set: give --tables-root s3://…")
        return DATATOOLS_S3ROOT.rstrip("/") + "/fu-tables"
    # The local datastore's own folder (.metaflow, found as Metaflow finds it).
    return os.path.join(LocalStorage.get_datastore_root_from_config(lambda *a, **k: None), "fu-tables")
