"""Ready-made agents (installed as `agentkit.agents`)."""
