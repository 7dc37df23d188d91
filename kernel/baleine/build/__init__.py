"""Builder front half: Dockerfile parsing, variable expansion, config changes.

    from baleine.build import parse, DockerfileError
    df = parse(text)                      # stages of typed instructions
    apply(image_config, command, state)   # metadata instruction -> history step
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
