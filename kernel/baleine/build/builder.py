"""`docker build`: run a parsed Dockerfile stage by stage and export the image BuildKit would.

A build state is an image value: its config (with history) and its layers. Metadata
instructions change the config and add a history row (config_changes.apply); RUN runs in a
container on the state (engine.containers) and its upper directory becomes the layer;
COPY/ADD/WORKDIR stage files in a directory that becomes the layer (copy.Stager). Every
layer step is looked up in the build cache first (cache.py) and recorded there after.

Only the stages the target needs are built. Errors raise BuildError with BuildKit's text
and the Dockerfile lines; nothing is tagged unless the whole build succeeded.
"""

from __future__ import annotations

import copy
import os
import posixpath
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from baleine import times

from . import instructions as ins
from .cache import BuildCache, key_of
from .config_changes import (
    DEFAULT_SHELL,
    StageState,
    apply,
    copy_created_by,
    run_argv,
    run_created_by,
)
from .context import Context, IgnoreMatcher
from .copy import ContextSource, Stager, ViewSource, is_archive, parse_chmod
from .dockerfile import parse, parse_onbuild_trigger
from .errors import BuildError
from .expand import (
    ExpandError,
    env_from_list,
    expand_arg_default,
    expand_command,
    expand_from,
    process_word,
)
from .parser import DockerfileError
from .progress import Progress, Vertex, pump_output, tail
from .rootview import RootView

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HISTORY_COMMENT = "buildkit.dockerfile.v0"
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
METADATA = (ins.Env, ins.Label, ins.Cmd, ins.Entrypoint, ins.Healthcheck, ins.Expose, ins.Volume,
            ins.User, ins.StopSignal, ins.Shell, ins.Onbuild, ins.Maintainer)
LAYER_STEPS = (ins.Run, ins.Copy, ins.Add, ins.Workdir)
# ocispec ImageConfig field order, then Docker's extensions
CONFIG_ORDER = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                "StopSignal", "ArgsEscaped", "Healthcheck", "OnBuild", "Shell")


@dataclass
class Options:
    dockerfile: str                       # its text
    dockerfile_name: str = "Dockerfile"
    context: str | None = None            # directory, None for `docker build -`
    tags: list = field(default_factory=list)          # reference.Reference
    build_args: dict = field(default_factory=dict)    # name -> value
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    labels: dict = field(default_factory=dict)
    network: str = "default"


class State:
    """An image value as the build goes: what containers.create and snapshot need."""

    def __init__(self, config: dict, layers: list[dict], key: str, image_id: str = ""):
        self.config = config
        self.layers = layers
        self.key = key
        self.id = image_id or "sha256:" + key

    @property
    def diff_ids(self) -> list[str]:
        return self.config["rootfs"]["diff_ids"]

    def clone(self) -> State:
        return State(copy.deepcopy(self.config), list(self.layers), self.key, self.id)


class _RunImage:
    """The state as a RUN container sees it: BuildKit mounts no volumes during a build, so
    the image's VOLUME paths stay part of the file system the step changes."""

    def __init__(self, state: State):
        self.config = dict(state.config)
        self.config["config"] = {k: v for k, v in (state.config.get("config") or {}).items() if k != "Volumes"}
        self.layers, self.id = state.layers, state.id

    @property
    def diff_ids(self) -> list[str]:
        return self.config["rootfs"]["diff_ids"]


class _CachedStore:
    """The image store, with the build cache's blobs readable too (for unpacking layers)."""

    def __init__(self, store, cache: BuildCache):
        self._store, self._cache = store, cache

    def __getattr__(self, name):
        return getattr(self._store, name)

    def open_blob(self, digest: str):
        path = self._cache.blob_path(digest)
        if os.path.exists(path):
            return open(path, "rb")
        return self._store.open_blob(digest)


def _epoch() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else None


def _arch() -> str:
    from baleine.archive.common import go_arch
    return go_arch()


class Builder:
    def __init__(self, store, options: Options, progress: Progress):
        self.store = store
        self.opts = options
        self.progress = progress
        self.cache = BuildCache(store.root)
        self.blob_store = _CachedStore(store, self.cache)
        self.epoch = _epoch()
        self.context = Context(options.context) if options.context else Context(None)
        self.used_args: set[str] = set()
        self.warnings: list[str] = []  # BuildKit's lint checks, printed after the build
        self.states: dict[int, State] = {}
        self.tmp = tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=self._tmp_root())

    def _tmp_root(self) -> str:
        """buildcache/tmp (the store's tmp/ holds only flock-ed blobs its cleaner may take);
        directories of builds whose process died are removed here."""
        path = os.path.join(self.cache.dir, "tmp")
        os.makedirs(path, mode=0o700, exist_ok=True)
        for name in os.listdir(path):
            pid = name.split("-")[1] if name.count("-") >= 2 else ""
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(os.path.join(path, name), ignore_errors=True)
        return path

    # -- the whole build ---------------------------------------------------------------

    def run(self) -> tuple[str, dict]:
        """Build; returns (image ID, config) once stored and tagged."""
        try:
            return self._run()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self):
        opts = self.opts
        v = self.progress.vertex(f"[internal] load build definition from {opts.dockerfile_name}")
        v.status(f"transferring dockerfile: {_size(len(opts.dockerfile.encode()))} done")
        v.done()
        try:
            self.df = parse(opts.dockerfile)
        except DockerfileError as err:
            raise BuildError(err.message, (err.line, err.end_line) if err.line else None) from None
        self.global_args = self._platform_args()
        for arg in self.df.meta_args:
            for key, default in arg.args:
                value = self._arg_value(key, default, self.global_args, arg)
                if value is not None:
                    self.global_args[key] = value
        names = {s.name: i for i, s in enumerate(self.df.stages) if s.name}
        self.stage_names = names
        target = len(self.df.stages) - 1
        if opts.target:
            if opts.target.lower() not in names:
                raise BuildError(f'target stage "{opts.target}" could not be found')
            target = names[opts.target.lower()]
        bases = {i: self._expand_from(s) for i, s in enumerate(self.df.stages)}
        self.bases = bases
        needed = self._needed(target)
        images = {}
        for i in sorted(needed):
            base = bases[i]
            if base.lower() in names and names[base.lower()] < i or base == "scratch":
                continue
            if base not in images:
                images[base] = self._load_base(base, self.df.stages[i])
        self.images = images
        if self.context.root:
            v = self.progress.vertex("[internal] load .dockerignore")
            path = os.path.join(self.context.root, ".dockerignore")
            size = os.path.getsize(path) if os.path.exists(path) else 2
            v.status(f"transferring context: {_size(size)} done")
            v.done()
        self.context_loaded = False
        for i in sorted(needed):
            self.states[i] = self._build_stage(i)
        return self._export(self.states[target])

    def _platform_args(self) -> dict[str, str]:
        arch = _arch()
        args = {}
        for prefix in ("BUILD", "TARGET"):
            args.update({prefix + "PLATFORM": f"linux/{arch}", prefix + "OS": "linux",
                         prefix + "ARCH": arch, prefix + "VARIANT": ""})
        return args

    def _arg_value(self, key: str, default: str | None, env: dict, command) -> str | None:
        if key in self.opts.build_args:
            self.used_args.add(key)
            return self.opts.build_args[key]
        if default is None:
            return None
        try:
            return expand_arg_default(default, env, self.df.escape)
        except ExpandError as err:
            raise BuildError(str(err), (command.line, command.end_line)) from None

    def _expand_from(self, stage) -> str:
        try:
            return expand_from(stage.base, self.global_args, self.df.escape)
        except ExpandError as err:
            raise BuildError(str(err), (stage.line, stage.line)) from None

    def _stage_ref(self, text: str) -> int | None:
        """A stage named by `--from` or `FROM`: its name, or (for --from) its index."""
        if text.lower() in self.stage_names:
            return self.stage_names[text.lower()]
        if text.isdigit() and int(text) < len(self.df.stages):
            return int(text)
        return None

    def _needed(self, target: int) -> set[int]:
        needed, todo = set(), [target]
        while todo:
            i = todo.pop()
            if i in needed:
                continue
            needed.add(i)
            dep = self.stage_names.get(self.bases[i].lower())
            if dep is not None and dep < i:
                todo.append(dep)
            for command in self.df.stages[i].commands:
                if isinstance(command, ins.Copy) and command.from_:
                    text = process_word(command.from_, self.global_args, self.df.escape)
                    dep = self._stage_ref(text)
                    if dep is not None:
                        if dep >= i:
                            current = self.df.stages[i].name or f"stage-{i}"
                            raise BuildError(f'cannot copy from stage "{text}", it needs to be defined '
                                             f'before current stage "{current}"', (command.line, command.end_line))
                        todo.append(dep)
        return needed

    def _load_base(self, text: str, stage):
        from baleine import reference
        from baleine.errors import BaleineError, NotFound
        try:
            ref = reference.parse(text)
        except BaleineError:
            raise BuildError(f"failed to parse stage name \"{text}\": invalid reference format",
                             (stage.line, stage.line)) from None
        full = str(ref if ref.digest else ref.with_default_tag())
        v = self.progress.vertex(f"[internal] load metadata for {full}")
        try:
            image = None
            if not self.opts.pull:
                try:
                    image = self.store.lookup(text)
                except NotFound:
                    image = None
            if image is None:
                image = self._pull(text, full)
        except BuildError as err:
            v.error(err.message)
            raise BuildError(err.message, (stage.line, stage.line)) from None
        v.done()
        return image

    def _pull(self, text: str, full: str):
        import io

        from baleine.errors import BaleineError, NotFound
        try:
            from baleine.registry import pull_if_missing
        except ImportError:
            pull_if_missing = None
        if pull_if_missing is not None:
            out = io.StringIO()  # the pull's own progress stays out of BuildKit's output
            try:
                if self.opts.pull:
                    from baleine import reference, registry
                    from baleine.registry.progress import Progress as PullProgress
                    ref = reference.parse(text)
                    registry.pull(self.store, ref if ref.digest else ref.with_default_tag(), PullProgress(out))
                    return self.store.lookup(text)
                return pull_if_missing(self.store, text, stream=out)
            except (BaleineError, OSError, ImportError, TypeError) as err:
                if self.opts.pull:
                    try:
                        return self.store.lookup(text)
                    except NotFound:
                        pass
                reason = str(err).removeprefix("Error response from daemon: ")
                raise BuildError(f"{text}: failed to resolve source metadata for {full}: {reason}") from None
        raise BuildError(f"{text}: failed to resolve source metadata for {full}: "
                         f"pull access denied, repository does not exist or may require authorization")

    # -- one stage -----------------------------------------------------------------------

    def _initial_state(self, i: int) -> tuple[State, str]:
        base = self.bases[i]
        dep = self.stage_names.get(base.lower())
        if dep is not None and dep < i:
            return self.states[dep].clone(), ""
        if base == "scratch":
            config = {"architecture": _arch(), "os": "linux",
                      "config": {"Env": [DEFAULT_PATH], "WorkingDir": "/"},
                      "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
            return State(config, [], key_of("scratch")), ""
        image = self.images[base]
        source = image.config
        config = {k: copy.deepcopy(source[k]) for k in ("author", "architecture", "os", "variant")
                  if source.get(k)}
        config["config"] = copy.deepcopy(source.get("config") or {})
        env = config["config"].get("Env") or []
        if not any(e.startswith("PATH=") for e in env):  # BuildKit makes sure PATH is set
            config["config"]["Env"] = list(env) + [DEFAULT_PATH]
        config["rootfs"] = {"type": "layers", "diff_ids": list(image.diff_ids)}
        config["history"] = copy.deepcopy(source.get("history") or [])
        from baleine import reference
        ref = reference.parse(base)
        shown = str(ref if ref.digest else ref.with_default_tag())
        if not ref.digest:
            shown += "@" + image.manifest_digest
        return State(config, list(image.layers), key_of("image", image.id), image.id), shown

    def _build_stage(self, i: int) -> State:
        stage = self.df.stages[i]
        self.stage_label = ((stage.name or f"stage-{i}") + " ") if len(self.df.stages) > 1 else ""
        state, shown = self._initial_state(i)
        commands = list(stage.commands)
        onbuild = state.config["config"].pop("OnBuild", None) or []
        triggers = []
        for trigger in onbuild:
            try:
                triggers.append(parse_onbuild_trigger(trigger, stage.line))
            except DockerfileError as err:
                raise BuildError(err.message, (stage.line, stage.line)) from None
        commands = triggers + commands
        # BuildKit's [i/total]: FROM of an image counts, scratch does not
        first = 0 if self.bases[i] == "scratch" else 1
        self.total = first + sum(isinstance(c, LAYER_STEPS) for c in stage.commands)
        self.step = first
        if shown:
            v = self.progress.vertex(f"[{self.stage_label}{self._index(1)}] FROM {shown}")
            v.done()
        sstate = StageState()
        args: dict[str, str | None] = {}
        for command in commands:
            self._lint(state, command)
            self._dispatch(state, sstate, args, command)
        return state

    def _lint(self, state: State, command) -> None:
        """The BuildKit checks a course Dockerfile meets most (frontend/dockerfile/linter)."""
        line = f" (line {command.line})"
        if isinstance(command, (ins.Cmd, ins.Entrypoint)) and command.prepend_shell \
                and not state.config["config"].get("Shell"):
            self.warnings.append(f"JSONArgsRecommended: JSON arguments recommended for {command.keyword} "
                                 f"to prevent unintended behavior related to OS signals{line}")
        elif isinstance(command, (ins.Env, ins.Label)) and any(p.no_delim for p in command.pairs):
            self.warnings.append(f'LegacyKeyValueFormat: "{command.keyword} key=value" should be used '
                                 f'instead of legacy "{command.keyword} key value" format{line}')
        elif isinstance(command, ins.Maintainer):
            self.warnings.append("MaintainerDeprecated: Maintainer instruction is deprecated in favor "
                                 f"of using label{line}")

    def _index(self, step: int) -> str:
        """`i/total`, i padded to the width of total (Go's %*d)."""
        width = len(str(self.total)) if self.total > 0 else 1
        return f"{step:{width}d}/{self.total}"

    def _env(self, state: State, args: dict) -> dict[str, str]:
        """What words are expanded with: declared ARGs, overridden by ENV."""
        env = {k: v for k, v in args.items() if v is not None}
        env.update(env_from_list(state.config["config"].get("Env") or []))
        return env

    def _history(self, state: State, created_by: str, empty: bool, created: str | None = None) -> None:
        entry = {}
        if created is not None:
            entry["created"] = created
        entry["created_by"] = created_by
        entry["comment"] = HISTORY_COMMENT
        if empty:
            entry["empty_layer"] = True
        state.config.setdefault("history", []).append(entry)

    def _dispatch(self, state: State, sstate: StageState, args: dict, command) -> None:
        lines = (command.line, command.end_line)
        env = self._env(state, args)
        try:
            if isinstance(command, ins.Arg):
                resolved = []
                for key, default in command.args:
                    if default is None and key in self.global_args and key not in self.opts.build_args:
                        value = self.global_args[key]   # `ARG NAME` takes the global value
                    else:
                        value = self._arg_value(key, default, env, command)
                    args[key] = value
                    env = self._env(state, args)
                    resolved.append((key, value))
                step = apply(state.config, ins.Arg(args=resolved, keyword="ARG", code=command.code,
                                                   line=command.line, end_line=command.end_line), sstate)
                sstate.build_args[-len(resolved):] = resolved
                self._history(state, step.created_by, True)
                return
            expanded = expand_command(command, env, self.df.escape)
            if isinstance(command, METADATA):
                step = apply(state.config, expanded, sstate)
                if step is not None:
                    self._history(state, step.created_by, True)
                return
        except ExpandError as err:
            raise BuildError(str(err), lines) from None
        except ValueError as err:
            raise BuildError(str(err), lines) from None
        if (isinstance(command, ins.Add) or (isinstance(command, ins.Copy) and not command.from_)) \
                and self.context.root and not self.context_loaded:
            self.context_loaded = True
            self._context_vertex()
        self.step += 1
        label = f"[{self.stage_label}{self._index(self.step)}] {_display(command, env, self.df.escape)}"
        vertex = self.progress.vertex(label)
        try:
            if isinstance(command, ins.Workdir):
                self._workdir(state, sstate, expanded, vertex)
            elif isinstance(command, ins.Run):
                self._run_step(state, sstate, args, command, vertex)
            else:
                self._copy_step(state, expanded, env, vertex)
        except OSError as err:  # an unreadable context file, a full disk: one line, Go's wording
            reason = (err.strerror or str(err)).lower()
            message = f"open {err.filename}: {reason}" if err.filename else reason
            vertex.error(message)
            raise BuildError(message, lines) from None
        except BuildError as err:
            vertex.error(err.message)
            if err.lines is None:
                err.lines = lines
            if getattr(err, "detail", None) is not None or isinstance(command, ins.Run):
                err.label = label
            raise

    # -- layer steps ----------------------------------------------------------------------

    def _view(self, state: State) -> RootView:
        from baleine import snapshot
        dirs = [snapshot.ensure_layer(self.blob_store, d, diff_id)
                for d, diff_id in zip(state.layers, state.diff_ids)]
        return RootView(list(reversed(dirs)))

    def _now(self) -> int:
        now = int(time.time())
        return min(now, self.epoch) if self.epoch is not None else now

    def _add_layer(self, state: State, key: str, created_by: str, vertex: Vertex, make) -> None:
        """Reuse the cached layer for `key`, or make it (make(writer) -> DiffResult)."""
        from baleine.store import media
        entry = None if self.opts.no_cache else self.cache.get(key)
        if entry is not None:
            vertex.cached()
        else:
            writer = self.store.writer()
            try:
                result = make(writer)
                writer.finish()
                created = times.rfc3339_nano()
                self.cache.put(key, writer.path, result.diff_id, result.size, created)
            finally:
                writer.discard()
            entry = {"diff_id": result.diff_id, "size": result.size, "created": created}
            vertex.done()
        state.layers.append({"mediaType": media.OCI_LAYER, "digest": entry["diff_id"], "size": entry["size"]})
        state.config["rootfs"]["diff_ids"].append(entry["diff_id"])
        state.key = key
        self._history(state, created_by, False, entry["created"])

    def _workdir(self, state: State, sstate: StageState, command: ins.Workdir, vertex: Vertex) -> None:
        step = apply(state.config, command, sstate)
        path = state.config["config"]["WorkingDir"]
        if step.empty_layer:
            self._history(state, step.created_by, True)
            vertex.done()
            return
        user = state.config["config"].get("User") or ""
        key = key_of(state.key, "workdir", path, user)

        def make(writer):
            from baleine.layers import diff_tree
            view = self._view(state)
            staging = self._staging()
            stager = Stager(staging, view, self._now())
            rel, node = view.resolve(path)
            if node is None or not node.is_dir:
                owner = self._user_owner(view, user) if user else (0, 0)
                before = set(stager.owners)
                stager.make_dirs(rel)
                for created in set(stager.owners) - before:
                    if not view._lookup_exact(created):
                        stager.owners[created] = (*owner, 0o755)
            stager.finish()
            return diff_tree(staging, writer, owners=stager.owners, **self._diff_options())

        self._add_layer(state, key, step.created_by, vertex, make)

    def _user_owner(self, view: RootView, user: str) -> tuple[int, int]:
        try:
            return view.user_ids(user)
        except LookupError:
            return 0, 0

    def _staging(self) -> str:
        return tempfile.mkdtemp(prefix="stage-", dir=self.tmp)

    def _diff_options(self) -> dict:
        options: dict = {"mtime_clamp": self.epoch}
        if os.geteuid() != 0:
            options.update(uid_map={os.geteuid(): 0}, gid_map={os.getegid(): 0})
        return options

    def _run_step(self, state: State, sstate: StageState, args: dict, command: ins.Run, vertex: Vertex) -> None:
        config = state.config["config"]
        try:
            argv, pipes = run_argv(command, config.get("Shell") or DEFAULT_SHELL)
        except ValueError as err:
            raise BuildError(str(err)) from None
        image_env = env_from_list(config.get("Env") or [])
        extra = [f"{k}={v}" for k, v in args.items() if v is not None and k not in image_env]
        extra += [f"{k}={v}" for k, v in self.opts.build_args.items()
                  if k in PROXY_ARGS and k not in args and k not in image_env]
        for k in self.opts.build_args:
            if k in PROXY_ARGS:
                self.used_args.add(k)
        created_by = run_created_by(argv, sstate.build_args, image_env)
        network = command.network if command.network != "default" else self.opts.network
        mounts, mount_key = self._run_mounts(command, {**args_env(args), **image_env},
                                             config.get("WorkingDir") or "/")
        key = key_of(state.key, "run", argv, sorted(pipes.items()), config.get("Env") or [], extra,
                     config.get("WorkingDir") or "", config.get("User") or "", network, created_by, mount_key)

        def make(writer):
            return self._execute(state, argv, pipes, extra, network, vertex, writer, mounts)

        self._add_layer(state, key, created_by, vertex, make)

    def _run_mounts(self, command: ins.Run, env: dict, workdir: str) -> tuple[list[dict], list]:
        """RUN --mount: type=cache (a directory kept under buildcache/mounts), type=bind
        (read-only, from the context), type=tmpfs; secret and ssh mounts are optional in
        BuildKit and absent here. Returns (container mounts, what the cache key depends on)."""
        import hashlib
        mounts, key = [], []
        for text in command.mounts:
            fields = {}
            for item in process_word(text, env, self.df.escape).split(","):
                name, eq, value = item.partition("=")
                fields[name.strip().lower()] = value if eq else "true"
            kind = fields.get("type", "bind")
            target = fields.get("target") or fields.get("dst") or fields.get("destination")
            if kind in ("secret", "ssh"):
                continue
            if not target:
                raise BuildError("mount target must be specified")
            target = posixpath.normpath(posixpath.join(workdir, target))  # relative to WORKDIR
            if kind == "cache":
                ident = fields.get("id") or target
                path = os.path.join(self.cache.dir, "mounts", hashlib.sha256(ident.encode()).hexdigest()[:32])
                os.makedirs(path, mode=0o755, exist_ok=True)
                mounts.append({"Type": "bind", "Source": path, "Target": target, "ReadOnly": False, "NoCopy": False})
            elif kind == "bind":
                if fields.get("from"):
                    raise BuildError(f"RUN --mount=type=bind,from={fields['from']} is not supported by Baleine")
                if self.context.root is None:
                    raise BuildError("RUN --mount=type=bind needs a build context")
                rels = self.context.resolve(fields.get("source") or fields.get("src") or "/")
                host = self.context.host_path(rels[0])
                rw = fields.get("rw", fields.get("readwrite", "false")).lower() in ("1", "true")
                mounts.append({"Type": "bind", "Source": host, "Target": target, "ReadOnly": not rw, "NoCopy": False})
                key.append((target, self.context.checksum(rels)))
            elif kind == "tmpfs":
                mounts.append({"Type": "tmpfs", "Source": "", "Target": target, "ReadOnly": False, "NoCopy": False,
                               "TmpfsSize": fields.get("size", ""), "TmpfsMode": ""})
            else:
                raise BuildError(f"unsupported mount type {kind!r}")
            key.append((kind, target, fields.get("id", "")))
        return mounts, key

    def _execute(self, state: State, argv, pipes, extra_env, network, vertex, writer, mounts=()):
        from baleine import snapshot
        from baleine.engine import containers
        from baleine.engine.start import StartFailed, run_attached, wait_child
        from baleine.errors import BaleineError
        from baleine.layers import diff_overlay_upper

        binds = []
        if pipes:  # heredoc scripts run from /dev/pipes/<name>, a read-only directory
            directory = tempfile.mkdtemp(prefix="pipes-", dir=self.tmp)
            for name, data in pipes.items():
                path = os.path.join(directory, name)
                with open(path, "w") as f:
                    f.write(data)
                os.chmod(path, 0o755)
            os.chmod(directory, 0o755)
            binds.append(f"{directory}:/dev/pipes:ro")
        try:
            container = containers.create(self.blob_store, _RunImage(state), "buildkit", args=argv, entrypoint="",
                                          env=extra_env, hostname="buildkitsandbox", binds=binds,
                                          mounts=list(mounts),
                                          network="none" if network == "none" else "host")
        except BaleineError as err:
            raise BuildError(str(err).removeprefix("Error response from daemon: ")) from None
        except OSError as err:  # e.g. a bind mount of a single file
            raise BuildError(f"failed to mount: {err.strerror or err}: {err.filename}") from None
        log = os.path.join(self.tmp, f"run-{vertex.number}.log")
        try:
            read_fd, write_fd = os.pipe()
            pid = pump_output(read_fd, write_fd, vertex, log, echo=not self.progress.quiet)
            try:
                status = run_attached(container, stdin=False, output=(write_fd, write_fd))
            except StartFailed as err:
                status = err.exit_code
                os.write(write_fd, (err.message + "\n").encode())
            finally:
                os.close(write_fd)
                wait_child(pid)
            if status != 0:
                error = BuildError(f'process "{" ".join(argv)}" did not complete successfully: '
                                   f"exit code: {status}")
                error.detail = tail(log)
                raise error
            upper = os.path.join(container.dir, "upper")
            _remove_mount_stubs(upper, container.bundle, self._view(state))
            metadata = snapshot.lower_metadata(self.blob_store, state)
            from baleine.runtime.owners import intended  # the owners RUN's chowns asked for (rootless)
            result = diff_overlay_upper(upper, writer, metadata=metadata,
                                        owners=intended(container.state_dir, upper, metadata),
                                        **self._diff_options())
            writer.file.flush()
            from .adopt import adopt_upper
            adopt_upper(self.store.root, upper, result.diff_id, writer.path)  # saves unpacking it again
            return result
        finally:
            containers.remove_files(container)

    def _copy_step(self, state: State, command, env: dict, vertex: Vertex) -> None:
        is_add = isinstance(command, ins.Add)
        config = state.config["config"]
        workdir = config.get("WorkingDir") or "/"
        view = self._view(state)
        from_text = process_word(command.from_, env, self.df.escape) if not is_add and command.from_ else ""
        if from_text:
            source, source_key = self._from_source(from_text)
        else:
            source, source_key = ContextSource(self.context), None
        urls = [s for s in command.sources if is_add and s.startswith(("http://", "https://"))]
        locals_ = [s for s in command.sources if s not in urls]
        resolved = [(s, source.resolve(s)) for s in locals_]
        count = len(command.sources) + len(command.contents)
        stager_probe = Stager(self.tmp, view, 0)
        dest_rel, dest_dir = stager_probe.destination(command.dest, workdir)
        if count > 1 and not command.dest.endswith("/"):  # BuildKit counts sources as written
            raise BuildError(f"When using {command.keyword} with more than one source file, "
                             "the destination must be a directory and end with a /")
        chown = None
        if command.chown:
            try:
                chown = view.user_ids(command.chown)
            except LookupError as err:
                raise BuildError(f"unable to convert uid/gid chown string to host mapping: {err}") from None
        chmod = parse_chmod(command.chmod)
        chmod = None if chmod < 0 else chmod
        downloads = [self._download(url, getattr(command, "checksum", "")) for url in urls]
        if source_key is None:
            digest = self.context.checksum([r for _, rels in resolved for r in rels]) if self.context.root else ""
        else:
            digest = key_of(source_key, [rels for _, rels in resolved])
        created_by = copy_created_by(command)
        exclude = IgnoreMatcher(command.excludes) if command.excludes else None
        key = key_of(state.key, "copy", created_by, command.excludes, workdir, dest_rel, dest_dir, chown, chmod,
                     [rels for _, rels in resolved], digest, [d[2] for d in downloads],
                     [(c.path, c.data) for c in command.contents])

        def make(writer):
            from baleine.layers import diff_tree
            staging = self._staging()
            stager = Stager(staging, view, self._now())
            stager.chown = chown
            owner_default = (chown[0] if chown else 0, chown[1] if chown else 0)
            for text, rels in resolved:
                for rel in rels:
                    host = self.context.host_path(rel) if isinstance(source, ContextSource) else None
                    if is_add and host and os.path.isfile(host) and not os.path.islink(host) and is_archive(host):
                        stager.extract(host, dest_rel, chown)
                    else:
                        stager.copy(source, rel, dest_rel, dest_dir or len(rels) > 1, chown, chmod, exclude)
            for content in command.contents:
                target = posixpath.join(dest_rel, content.path) if dest_dir else dest_rel
                mode = chmod if chmod is not None else 0o644
                stager.add_file(target, content.data.encode("utf-8", "surrogateescape"),
                                (*owner_default, mode), self._now() * 1_000_000_000)
            for name, path, _digest, mtime in downloads:
                target = posixpath.join(dest_rel, name) if dest_dir else dest_rel
                with open(path, "rb") as f:
                    data = f.read()
                stager.add_file(target, data, (*owner_default, chmod if chmod is not None else 0o600), mtime)
            stager.finish()
            return diff_tree(staging, writer, owners=stager.owners, **self._diff_options())

        self._add_layer(state, key, created_by, vertex, make)

    def _context_vertex(self) -> None:
        v = self.progress.vertex("[internal] load build context")
        total = 0
        for path, st in self.context.walk(""):
            if os.path.isfile(self.context.host_path(path)):
                total += st.st_size
        v.status(f"transferring context: {_size(total)} done")
        v.done()

    def _from_source(self, text: str):
        index = self._stage_ref(text)
        if index is not None:
            state = self.states[index]
            return ViewSource(self._view(state), text), state.key
        image = self.images.get(text)
        if image is None:
            image = self._load_base(text, self.df.stages[0])
            self.images[text] = image
        state = State({"rootfs": {"diff_ids": list(image.diff_ids)}}, list(image.layers), key_of("image", image.id))
        return ViewSource(self._view(state), text), state.key

    def _download(self, url: str, checksum: str):
        """ADD <url>: (file name, local path, digest, mtime in ns)."""
        import email.utils
        import hashlib
        import urllib.parse
        import urllib.request
        path = os.path.join(self.tmp, "download-" + hashlib.sha256(url.encode()).hexdigest()[:16])
        digest = hashlib.sha256()
        limit = 1 << 31
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
                size = 0
                while chunk := response.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise BuildError(f"failed to load cache key: {url}: file too large")
                    digest.update(chunk)
                    out.write(chunk)
                modified = response.headers.get("Last-Modified")
        except BuildError:
            raise
        except Exception as err:  # noqa: BLE001 - urllib raises many kinds; BuildKit reports the reason
            if isinstance(getattr(err, "code", None), int):
                raise BuildError(f"failed to load cache key: invalid response status {err.code}") from None
            raise BuildError(f"failed to load cache key: {getattr(err, 'reason', None) or err}") from None
        got = "sha256:" + digest.hexdigest()
        if checksum and checksum != got:
            raise BuildError(f"digest mismatch {got}: {checksum}")
        mtime = self._now()  # BuildKit keeps the download time unless Last-Modified says otherwise
        if modified:
            try:
                mtime = int(email.utils.parsedate_to_datetime(modified).timestamp())
            except (TypeError, ValueError):
                pass
        name = posixpath.basename(urllib.parse.urlparse(url).path) or "__unnamed__"
        return name, path, got, mtime * 1_000_000_000

    # -- export ------------------------------------------------------------------------------

    def _export(self, state: State) -> tuple[str, dict]:
        from baleine.archive.common import write_image
        v = self.progress.vertex("exporting to image")
        config = state.config
        inner = config.get("config") or {}
        if self.opts.labels:
            labels = inner.get("Labels") or {}
            labels.update(self.opts.labels)
            inner["Labels"] = labels
        history = _fill_times(config.get("history") or [], self.epoch, len(self._base_history(state)))
        created = None
        for entry in history:
            if entry.get("created"):
                created = entry["created"]
        if self.epoch is not None and (created is None or times.parse(created) > self.epoch):
            created = times.rfc3339_nano(self.epoch)
        out = {}
        for key in ("architecture", "author"):
            if config.get(key):
                out[key] = config[key]
        out["config"] = {k: inner[k] for k in CONFIG_ORDER if inner.get(k) not in (None, [], {}, "")
                         or (k == "WorkingDir" and k in inner and inner[k])}
        if created:
            out["created"] = created
        out["history"] = history
        out["os"] = config.get("os", "linux")
        out["rootfs"] = {"type": "layers", "diff_ids": list(state.diff_ids)}
        if config.get("variant"):
            out["variant"] = config["variant"]
        v.status("exporting layers done")
        with self.store.transaction() as txn:
            for layer in state.layers:
                if not self.store.has_blob(layer["digest"]):
                    cached = self.cache.blob_path(layer["digest"])
                    _link_into_store(cached, self.store.blob_path(layer["digest"]))
            image_id, _ = write_image(txn, out, state.layers, list(self.opts.tags))
        v.status(f"writing image {image_id} done")
        for ref in self.opts.tags:
            v.status(f"naming to {ref} done")
        v.done()
        return image_id, out

    def _base_history(self, state: State) -> list:
        return []


def args_env(args: dict) -> dict[str, str]:
    return {k: v for k, v in args.items() if v is not None}


def _fill_times(history: list[dict], epoch: int | None, base_count: int) -> list[dict]:
    """BuildKit's exporter: metadata rows take the first new layer's time (or the previous
    row's); with SOURCE_DATE_EPOCH, rows after the base image's are clamped to it."""
    created = None
    missing = False
    for h in history:
        if h.get("created"):
            created = h["created"]
            if missing:
                break
        else:
            missing = True
    missing = False
    out = []
    for h in history:
        h = dict(h)
        if h.get("created"):
            if missing:
                created = h["created"]
        else:
            missing = True
            if created:
                h["created"] = created
        out.append(h)
    if epoch is not None:
        stamp = times.rfc3339_nano(epoch)
        for h in out:
            if h.get("comment") == HISTORY_COMMENT and (not h.get("created") or times.parse(h["created"]) > epoch):
                h["created"] = stamp
    return [_ordered_history(h) for h in out]


def _ordered_history(h: dict) -> dict:
    out = {k: h[k] for k in ("created", "created_by", "author", "comment") if h.get(k)}
    if h.get("empty_layer"):
        out["empty_layer"] = True
    return out


def _link_into_store(source: str, target: str) -> None:
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def _remove_mount_stubs(upper: str, bundle: str, view: RootView) -> None:
    """Mount points the runtime had to create (/proc, /etc/hosts, ...) are not the step's
    changes: remove them when empty, and parents that only held them (as BuildKit does)."""
    import json
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        # mount points, and the working directory the runtime may have touched
        mounts = [m["destination"] for m in spec.get("mounts", [])] + [spec.get("process", {}).get("cwd", "/")]
    except (OSError, ValueError):
        return
    for dest in sorted(set(mounts), key=lambda d: -d.count("/")):
        rel = dest.strip("/")
        if not rel:
            continue
        while rel:
            path = os.path.join(upper, rel)
            in_image = view._lookup_exact(rel) is not None
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    if os.listdir(path) or _opaque_dir(path):
                        break
                    os.rmdir(path)
                elif os.path.isfile(path) and not os.path.islink(path) and not in_image:
                    if os.path.getsize(path):
                        break
                    os.unlink(path)
                elif not os.path.lexists(path):
                    pass
                else:
                    break
            except OSError:
                break
            rel = posixpath.dirname(rel)


def _opaque_dir(path: str) -> bool:
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name) == b"y":
                return True
        except OSError:
            pass
    return False


def _display(command, env: dict, escape: str) -> str:
    """The step as BuildKit names its vertex: the instruction's text with variables
    expanded (RUN keeps its quotes and unknown variables), keyword upper-cased."""
    from .expand import Lex
    text = command.code.split("\n")[0]
    lex = Lex(escape, raw_quotes=True, skip_unset_env=True) if isinstance(command, ins.Run) else Lex(escape)
    try:
        text = lex.process_word(text, env)
    except ExpandError:
        pass
    keyword, _, rest = text.partition(" ")
    return keyword.upper() + (" " + rest if rest else "")


def _size(n: int) -> str:
    from baleine.format.units import human_size
    return human_size(n, 3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


