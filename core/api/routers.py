from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """SPEC §10 writes paths without a trailing slash; accept both forms."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
