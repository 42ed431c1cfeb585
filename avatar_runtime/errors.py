"""Provider errors are retryable (try again with backoff) or permanent (fall back at once)."""


class ProviderError(Exception):
    def __init__(self, provider: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retryable = retryable


class ModelMissingError(ProviderError):
    """A backend's model files are not in MODELS_DIR: permanent until someone provisions them."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(provider, message, retryable=False)
