"""The SE-Darwin agent: self-improvement of other agents, routable like any agent."""

from .agent import SEDarwinAgent, parse_request

__all__ = ["SEDarwinAgent", "parse_request"]
