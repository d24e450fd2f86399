"""An example agent for `agentkit deploy agentcore`: Qwen3-Coder on Bedrock with the calculator tool.

Regenerate this folder with: agentkit deploy agentcore deploy/example/agent.py --name example --out deploy/example
"""

from agentkit import Agent
from agentkit.tools.calculator import calculator

agent = Agent(
    model="qwen.qwen3-coder-480b-a35b-v1:0",
    tools=[calculator],
    system_prompt="You are a careful assistant. Use the calculator for arithmetic.",
)
