"""rdagent-policies: the CrossGuard policy pack's rules, its manifest check and report formats."""

# The pack's one version: the package metadata (pyproject.toml) and the SARIF driver read it here.
__version__ = "0.2.0"
