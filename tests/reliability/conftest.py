from tests.avatar_runtime.pipeline.conftest import demo_kb  # noqa: F401  (the demo venue for session tests)
