"""Maps the repository's top-level folders onto subpackages of ``genesis_agents``.

The design keeps ``agents/``, ``memory/``, ``safety/`` ... at the top of the repository, but those names
are taken on PyPI, so each folder is installed as ``genesis_agents.<folder>``. Nothing is installed at the
top level except ``genesis_agents``.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "genesis_agents": "genesis_agents",
    "genesis_agents.infrastructure": "infrastructure",
    "genesis_agents.agents": "agents",
    "genesis_agents.memory": "memory",
    "genesis_agents.safety": "safety",
    "genesis_agents.evolution": "evolution",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for package, folder in FOLDERS.items():
    package_dir[package] = folder
    packages.append(package)
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "": ["*.yaml", "*.yml", "*.json", "*.jsonl", "*.csv", "*.xsd", "*.npz", "*.ttf", "*.txt", "*.html", "LICENSE*", "*.md"],
        # data folders that are not packages (no __init__.py): listed so that a built wheel carries them
        "genesis_agents.safety": ["data/seed/*", "data/models/*", "data/eval/*", "data/xstest/*"],
        "genesis_agents.agents": ["videogen/fonts/*"],
    },
    include_package_data=True,
)
