"""The ``creditx`` command: the dispatcher (:mod:`.main`), the output helpers every role's
commands share, and the ``standard`` sub-command (:mod:`.standard`)."""
