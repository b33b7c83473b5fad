"""echo: composer's scripted mock model under a provider name of the package's own."""

from composer.specialists.mock import MockSpecialist


class EchoSpecialist(MockSpecialist):
    """A model named `echo/<anything>`, scripted by its options like `mock/...`."""

    provider = "echo"
