import pytest

from ipcbench.scenario import Scenario, ScenarioError, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8", 8),
        ("8B", 8),
        ("1KiB", 1024),
        ("64kib", 65536),
        ("1MiB", 1 << 20),
        ("2 MiB", 2 << 20),
        ("1kB", 1000),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "KiB", "-1", "1.5KiB", "1XB", "1 K i B", "0x10"])
def test_parse_size_refuses(text):
    with pytest.raises(ScenarioError, match="cannot parse size"):
        parse_size(text)


@pytest.mark.parametrize(("size", "text"), [(8, "8B"), (1024, "1KiB"), (1536, "1536B"), (1 << 20, "1MiB")])
def test_format_size(size, text):
    assert format_size(size) == text
    assert parse_size(text) == size


def test_id_is_readable_and_matches_fields():
    s = Scenario("pipe_bytes", "latency", 1, 1, 1024, "fork")
    assert s.id == "pipe_bytes-latency-2p-1KiB-fork"
    assert s.fields()["processes"] == 2
    assert Scenario("queue", "throughput", 3, 1, 8, "spawn").id == "queue-throughput-4p-3to1-8B-spawn"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "bogus"}, "unknown pattern"),
        ({"start_method": "thread"}, "unknown start method"),
        ({"producers": 0}, "producers must be a positive"),
        ({"payload_bytes": 4}, "below 8 B"),
        ({"producers": 200, "consumers": 200}, "beyond the cap"),
        ({"pattern": "latency", "producers": 2}, "pairs"),
    ],
)
def test_scenario_refuses(kwargs, message):
    base = {
        "mechanism": "pipe",
        "pattern": "throughput",
        "producers": 1,
        "consumers": 1,
        "payload_bytes": 8,
        "start_method": "fork",
    }
    with pytest.raises(ScenarioError, match=message):
        Scenario(**{**base, **kwargs})


def test_scenario_is_frozen():
    s = Scenario("pipe", "throughput", 1, 1, 8, "fork")
    with pytest.raises(AttributeError):
        s.payload_bytes = 16  # type: ignore[misc]
