"""The kinds of run (summary.json's kind), in words, and the default name of a run folder of each."""

from __future__ import annotations

RUN_KINDS = ("solve", "stochastic", "evaluate", "sweep")  # what a run folder holds (summary.json's kind)
# a run of each kind, in words
KIND_NOUNS = {"solve": "a solve", "stochastic": "a stochastic solve", "evaluate": "an evaluation",
              "sweep": "a sweep"}  # fmt: skip
JOB_KINDS = ("evaluate", "sweep")  # the runs that keep a job folder, resumable with --resume

# the end of a run folder's default name by the kind of run (<UTC time>-<model><suffix>): a solve's
# is the model's name alone
FOLDER_SUFFIX = {"solve": "", "stochastic": "-stochastic", "evaluate": "-evaluate", "sweep": "-sweep"}


def run_name(kind: str, model_name: str) -> str:
    """The default name a run of ``kind`` gets after its time stamp (runs/folder.py RunFolder.claim)."""
    return model_name + FOLDER_SUFFIX[kind]
