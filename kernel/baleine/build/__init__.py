"""The builder: Dockerfile -> image, as BuildKit builds it.

Front half: Dockerfile parsing, variable expansion, config changes.

    from baleine.build import parse, DockerfileError
    df = parse(text)                      # stages of typed instructions
    apply(image_config, command, state)   # metadata instruction -> history step

Back half (`docker build`, imported lazily by the CLI):

    builder.py    stages, ARG scoping, RUN in a container, layers, export, BuildKit errors
    context.py    the build context and .dockerignore
    copy.py       COPY/ADD staging (owners, modes, --from sources, archives, URLs)
    rootview.py   reading a build state's unpacked layers without mounting them
    cache.py      the build cache ($BALEINE_ROOT/buildcache), `builder prune`
    progress.py   BuildKit's plain progress output
    errors.py     BuildError and the Dockerfile excerpt printed with it

    from baleine.build.builder import Builder, Options
    image_id, config = Builder(store, Options(dockerfile=text, context="."), Progress()).run()

As with Docker, ARG and --build-arg values are visible in the image history (`RUN |1 K=v ...`):
never pass secrets that way.
"""

from .config_changes import (
    HistoryStep,
    StageState,
    apply,
    apply_changes,
    classic_created_by,
    copy_created_by,
    parse_change,
    parse_changes,
    run_argv,
    run_created_by,
)
from .dockerfile import Dockerfile, Stage, parse, parse_onbuild_trigger
from .expand import ExpandError, expand_command, process_word, process_words
from .parser import DockerfileError

__all__ = [
    "Dockerfile", "DockerfileError", "ExpandError", "HistoryStep", "Stage", "StageState",
    "apply", "apply_changes", "classic_created_by", "copy_created_by", "expand_command",
    "parse", "parse_change", "parse_changes", "parse_onbuild_trigger", "process_word", "process_words",
    "run_argv", "run_created_by",
]
