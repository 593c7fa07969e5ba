"""Ways to run srllm inside other systems. Each module imports its system only when it is used, so srllm runs
without them:

- `srllm.integrations.ray`: `srllm check` over a corpus on a Ray cluster (`srllm check --ray`; needs
  `pip install 'srllm[ray]'`).
"""
