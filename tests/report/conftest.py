from chromium import browser  # noqa: F401 - the session fixture
