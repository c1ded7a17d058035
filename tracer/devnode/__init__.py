"""Local stand-ins for blockchain nodes that replay recorded real data over real HTTP (tests and the demo)."""

from tracer.devnode.bitcoin_replay import ReplayNode, make_replay_app, run_replay_node, serve_replay
from tracer.devnode.bitcoin_store import ReplayStore

__all__ = ["ReplayNode", "ReplayStore", "make_replay_app", "run_replay_node", "serve_replay"]
