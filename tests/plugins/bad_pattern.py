"""A test plugin that declares a channel in a pattern that does not exist."""

from ipcbench.api import Mechanism, register

register(
    Mechanism(
        name="gossip_pipe",
        description="test plugin: an unknown pattern",
        make_channel=lambda resources: resources.ctx.Pipe(duplex=False)[::-1],
        bind_send=lambda end, payload_bytes: end.send_bytes,
        bind_recv=lambda end, payload_bytes: end.recv_bytes,
        carries="bytes",
        point_to_point=True,
        patterns=("throughput", "gossip"),
    )
)
