#!/usr/bin/env python3
"""Runs the composite GitHub Action in action.yml here, as a runner would, so
that CI checks its shell steps without GitHub.

    tests/tools/run-action.py WORKDIR [input=value ...]

Each `run` step runs with bash in WORKDIR, with its `env` expressions and
`if` conditions evaluated (the subset of GitHub's expression language that
action.yml uses), and with RUNNER_TEMP, GITHUB_PATH and GITHUB_OUTPUT as a
runner provides them. `uses` steps are not run: the script prints what they
would be given. Prints the action's outputs as JSON on the last line and exits
0 when the action succeeds, 1 when it fails. Needs PyYAML.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ACTION_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    workdir = os.path.abspath(sys.argv[1])
    given = dict(arg.split("=", 1) for arg in sys.argv[2:])
    with open(os.path.join(ACTION_DIR, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "a composite action"
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    if unknown:
        sys.exit(f"run-action: no input {', '.join(sorted(unknown))}")
    inputs.update(given)
    temp = tempfile.mkdtemp(prefix="gomaplint-action-")
    path_file = os.path.join(temp, "path")
    open(path_file, "w").close()
    steps = {}
    failed = False

    def value(ref):
        parts = ref.split(".")
        if parts[0] == "inputs":
            return inputs[parts[1]]
        if parts[0] == "github" and parts[1] == "action_path":
            return ACTION_DIR
        if parts[0] == "steps":
            step = steps.get(parts[1], {"outcome": "", "outputs": {}})
            if parts[2] == "outputs":
                return step["outputs"].get(parts[3], "")
            return step[parts[2]]
        raise SystemExit(f"run-action: cannot evaluate `{ref}`")

    def evaluate(expr):
        py = re.sub(
            r"\b(inputs|steps|github)((?:\.[A-Za-z0-9_-]+)+)",
            lambda m: repr(value(m.group(0))),
            expr,
        )
        py = py.replace("&&", " and ").replace("||", " or ")
        py = re.sub(r"!(?!=)", " not ", py)
        py = py.replace("cancelled()", "False").replace("always()", "True")
        py = py.replace("success()", repr(not failed)).replace("failure()", repr(failed))
        return eval(py, {"__builtins__": {}}, {})  # noqa: S307 - our own file

    def interpolate(text):
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1))), str(text))

    for step in action["runs"]["steps"]:
        name = step.get("name", step.get("id", "step"))
        condition = str(step.get("if", "success()"))
        condition = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", condition.strip())
        # Without a status function, a condition implies success().
        if not re.search(r"\b(success|failure|always|cancelled)\(\)", condition):
            condition = f"success() && ({condition})"
        if not evaluate(condition):
            print(f"run-action: skipped: {name}", file=sys.stderr)
            continue
        if "uses" in step:
            with_ = {k: interpolate(v) for k, v in step.get("with", {}).items()}
            print(f"run-action: would use {step['uses']} with {with_}", file=sys.stderr)
            continue
        assert step.get("shell") == "bash", f"{name}: composite run steps need `shell: bash`"
        output_file = os.path.join(temp, f"output-{len(steps)}")
        open(output_file, "w").close()
        env = dict(os.environ)
        extra_path = [p for p in open(path_file).read().splitlines() if p]
        env["PATH"] = os.pathsep.join(list(reversed(extra_path)) + [env["PATH"]])
        env.update(RUNNER_TEMP=temp, GITHUB_PATH=path_file, GITHUB_OUTPUT=output_file)
        env.update({k: interpolate(v) for k, v in step.get("env", {}).items()})
        print(f"run-action: running: {name}", file=sys.stderr)
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workdir, env=env)
        outputs = dict(
            line.split("=", 1) for line in open(output_file).read().splitlines() if "=" in line
        )
        outcome = "success" if result.returncode == 0 else "failure"
        if "id" in step:
            steps[step["id"]] = {"outcome": outcome, "outputs": outputs}
        failed = failed or outcome == "failure"
    outputs = {k: interpolate(v["value"]) for k, v in action.get("outputs", {}).items()}
    print(json.dumps(outputs))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
