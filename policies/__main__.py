"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> <this folder>`)."""

from rdagent_policies.pack import build_pack

build_pack()
