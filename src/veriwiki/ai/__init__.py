"""veriwiki's own small model interface: the services talk to this, never to a provider.

``provider`` defines the interface and usage accounting, ``structured`` turns a model's
reply into a validated pydantic object (with bounded retries and repair), ``fake`` is
a deterministic provider for unit tests. The real provider (Simon Willison's ``llm``
library, with the embedded SmolLM2 model as default) lives in
``veriwiki.adapters.llm_provider``.
"""
