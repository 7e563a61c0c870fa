"""Small real agents and suites used to demonstrate, test and benchmark SE-Darwin."""

from pathlib import Path

TRIAGE_SUITE = Path(__file__).with_name("triage_suite.yaml")
