"""The preflight: the facts it records, and the warnings made-up facts call for."""

from ipcbench import preflight

QUIET = {
    "load_avg": [0.1, 0.1, 0.1],
    "cpus_usable": 2,
    "max_processes": 2,
    "governors": ["performance"],
    "other_cpu": 0.05,
    "busy_processes": [],
    "ci": None,
    "on_battery": False,
}


def test_collect_records_every_key():
    facts = preflight.collect(max_processes=4, sample_s=0.01)
    for key in ("load_avg", "cpus_usable", "max_processes", "governors", "other_cpu", "busy_processes"):
        assert key in facts
    assert {"ci", "on_battery", "warnings"} <= facts.keys()
    assert facts["max_processes"] == 4
    assert isinstance(facts["warnings"], list)


def test_a_quiet_machine_has_no_warning():
    assert preflight.warnings(QUIET) == []


def test_each_disturbance_is_named():
    noisy = {
        **QUIET,
        "load_avg": [3.0, 2.0, 1.0],
        "governors": ["powersave"],
        "other_cpu": 1.5,
        "busy_processes": [{"name": "make", "pid": 1, "cpu": 0.9}],
        "max_processes": 8,
        "ci": "GITHUB_ACTIONS",
        "on_battery": True,
    }
    text = "\n".join(preflight.warnings(noisy))
    for word in (
        "load average 3.00",
        "make (90%)",
        "powersave",
        "8 processes on 2",
        "GITHUB_ACTIONS",
        "battery",
    ):
        assert word in text


def test_ci_detection_reads_the_usual_variables():
    assert preflight.ci_name({"CI": "true"}) == "CI"
    assert preflight.ci_name({"GITHUB_ACTIONS": "true"}) == "GITHUB_ACTIONS"
    assert preflight.ci_name({"CI": "false"}) is None
    assert preflight.ci_name({}) is None


def test_format_lines_summarise_then_warn():
    lines = preflight.format_lines({**QUIET, "warnings": ["x"]})
    assert lines[0].startswith("preflight: load 0.10") and lines[1] == "warning: x"
