"""Validates xAPI statements (a JSON array on stdin) with Ralph's xAPI models: the strict xAPI
1.0.3 base model for every statement, and any specific Ralph model (its profiles) whose rules
select the statement. Prints a JSON array of errors; exits 1 when there is one. Executed by
.venv-ralph's python (tests/xapi/ralph.py), never imported by the suite."""

from __future__ import annotations

import contextlib
import json
import sys

from pydantic import ValidationError
from ralph.models.selector import ModelSelector
from ralph.models.xapi.base.statements import BaseXapiStatement


def main() -> None:
    statements = json.load(sys.stdin)
    selector = ModelSelector(module="ralph.models.xapi")
    errors: list[str] = []
    for statement in statements:
        models = [BaseXapiStatement]
        with contextlib.suppress(Exception):  # no specific model selects it: the base decides
            models += [m for m in selector.get_models(statement) if m not in models]
        for model in models:
            try:
                model.model_validate(statement)
            except ValidationError as exc:
                errors.append(f"{statement.get('id')} {model.__name__}: {exc}")
    json.dump(errors, sys.stdout)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
